"""The project's development tools: servers, databases and ports for the tests,
the benchmarks and the example site. Not part of the package; never shipped."""
