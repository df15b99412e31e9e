// Each test runs two engine loop threads and a Kestrel host, or a sample process in a namespace; on a small machine,
// tests in parallel would starve each other's loops. One at a time keeps run times steady.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
