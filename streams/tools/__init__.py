"""Tools around the worker, for people and CI: the demo, synthetic data, benchmarks,
dashboards and contracts generators, the local Kafka runner, topic I/O, a worker as a
child process, and the matcher's model estimation."""
