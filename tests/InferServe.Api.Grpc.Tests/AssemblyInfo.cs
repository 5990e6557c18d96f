// One shared engine; tests that check "every KV block is free again" must not overlap other requests.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
