// Each test runs two engine loop threads that busy-poll under load; on a small machine, tests running in
// parallel would starve each other's loops and application threads. One at a time keeps run times steady.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
