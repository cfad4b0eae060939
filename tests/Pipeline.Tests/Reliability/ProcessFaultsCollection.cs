namespace Pipeline.Tests.Reliability;

/// <summary>
/// The fault tests that run `pipeline node` processes under failure-detector timings of seconds: one at a time, so
/// that two of them never starve each other's heartbeats on a 2-core machine (other test areas still run alongside).
/// </summary>
[CollectionDefinition(Name)]
public sealed class ProcessFaultsCollection : ICollectionFixture<FaultCorpusFixture>
{
    public const string Name = "Reliability: node processes";
}
