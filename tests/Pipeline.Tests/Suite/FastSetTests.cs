using System.Diagnostics;
using System.Reflection;
using System.Reflection.Emit;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Hosting;
using Pipeline.Tests.Analysis;
using Pipeline.Tests.Api;
using Pipeline.Tests.Boxes;
using Pipeline.Tests.Cli;
using Pipeline.Tests.Cluster;
using Pipeline.Tests.Embedding;
using Pipeline.Tests.Jobs;
using Pipeline.Tests.Kubernetes;

namespace Pipeline.Tests.Suite;

/// <summary>
/// The fast set (<c>dotnet test --filter "Category!=Slow"</c>, README's test section) stays fast: a test that starts an OS
/// process or a host (a cluster node, an API server) carries <c>[Trait("Category", "Slow")]</c>. What a test starts is
/// read from the IL of the test, its class and fixtures, and everything of this assembly they reach (helpers, lambdas,
/// async bodies), so a new test of that kind cannot enter the fast set unnoticed.
/// </summary>
public sealed class FastSetTests
{
    [Fact]
    public void Every_test_that_starts_a_process_or_a_host_is_in_the_slow_category()
    {
        var untagged = TestScan.Tests.Where(t => t.Starts is not null && !t.Categories.Contains(TestScan.Slow))
            .Select(t => $"{t.Class.FullName}.{t.Method.Name} starts {t.Starts}").Distinct().Order().ToList();
        Assert.True(untagged.Count == 0,
            $"{untagged.Count} test(s) outside the slow category start a process or a host; tag them [Trait(\"Category\", \"Slow\")]:\n" +
            string.Join("\n", untagged));
    }

    [Fact]
    public void The_scan_finds_processes_and_hosts_behind_helpers_fixtures_lambdas_and_async_code()
    {
        // a scan that found nothing would let the test above pass while checking nothing
        Assert.Contains("Process.Start", Starts(typeof(CommandLineTests), nameof(CommandLineTests.Every_command_has_help))); // NodeProcess, async
        Assert.Null(Starts(typeof(OutputLockTests), "A_lock_of_a_process_gone_from_this_machine_is_taken_over_at_once")); // `true` only
        Assert.Contains("Process.Start", Starts(typeof(ManifestTests), nameof(ManifestTests.Selectors_match_the_pod_labels))); // kustomize, class fixture
        Assert.Contains("StartAsync", Starts(typeof(InProcessClusterTests), nameof(InProcessClusterTests.Rerunning_the_same_job_skips_committed_partitions)));
        Assert.Contains("StartAsync", Starts(typeof(HardenedEdgeTests), nameof(HardenedEdgeTests.Oversized_chunked_body_is_refused_with_413_not_500))); // class fixture
        Assert.Contains("StartAsync", TestScan.Tests.First(t => t.Class == typeof(PipelineDatasetReaderTests)).Starts); // collection fixture
        Assert.Null(Starts(typeof(BoxSizeHistogramTests), nameof(BoxSizeHistogramTests.Json_round_trip_is_the_identity)));
        Assert.Null(Starts(typeof(DeviceTests), nameof(DeviceTests.Cpu_device_never_reports_a_fallback))); // a fixture that starts nothing
        Assert.Contains(TestScan.Slow, TestScan.Tests.First(t => t.Class == typeof(InProcessClusterTests)).Categories);
    }

    [Fact]
    public void Readme_gives_the_fast_set_command_with_this_category()
    {
        var readme = File.ReadAllText(RepositoryTree.PathOf("README.md"));
        Assert.Contains($"dotnet test Pipeline.sln -c Release --filter \"Category!={TestScan.Slow}\"", readme);
    }

    private static string? Starts(Type type, string method) =>
        Assert.Single(TestScan.Tests, t => t.Class == type && t.Method.Name == method).Starts;
}

/// <summary>The test methods of this assembly, their Category traits, and the process or host each one starts.</summary>
internal static class TestScan
{
    public const string Slow = "Slow";

    public sealed record Test(Type Class, MethodInfo Method, IReadOnlySet<string> Categories, string? Starts);

    private static readonly Assembly ThisAssembly = typeof(TestScan).Assembly;

    /// <summary>Helpers whose process exits at once, which the fast set may run: <c>true</c>, for a process id that is gone.</summary>
    private static readonly HashSet<(Type, string)> InstantProcesses = [(typeof(OutputLockTests), "DeadPid")];
    private static readonly Lazy<List<Test>> All = new(Scan);
    private static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!).ToDictionary(o => o.Value);

    public static IReadOnlyList<Test> Tests => All.Value;

    private static List<Test> Scan()
    {
        var tests = new List<Test>();
        foreach (var type in ThisAssembly.GetTypes().Where(t => t.IsClass && !t.IsAbstract && !t.IsGenericTypeDefinition))
        {
            var classRoots = ClassRoots(type).ToList();
            foreach (var method in type.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly))
            {
                if (!method.IsDefined(typeof(FactAttribute), inherit: true)) continue;
                var categories = Categories(method).Concat(Categories(type)).ToHashSet();
                tests.Add(new Test(type, method, categories, Reach([method, .. classRoots])));
            }
        }
        return tests;
    }

    private static IEnumerable<string> Categories(MemberInfo member) =>
        member.GetCustomAttributesData()
            .Where(a => a.AttributeType == typeof(TraitAttribute) && (string?)a.ConstructorArguments[0].Value == "Category")
            .Select(a => (string)a.ConstructorArguments[1].Value!);

    /// <summary>What runs around every test of the class: its constructors and lifetime methods, and those of its fixtures.</summary>
    private static IEnumerable<MethodBase> ClassRoots(Type type)
    {
        var fixtures = new List<Type> { type };
        fixtures.AddRange(FixtureTypes(type, typeof(IClassFixture<>)));
        if (type.GetCustomAttributesData().FirstOrDefault(a => a.AttributeType == typeof(CollectionAttribute)) is { } collection)
        {
            var name = (string?)collection.ConstructorArguments[0].Value;
            foreach (var definition in ThisAssembly.GetTypes().Where(t => t.GetCustomAttributesData().Any(a =>
                         a.AttributeType == typeof(CollectionDefinitionAttribute) && a.ConstructorArguments.Count > 0 &&
                         (string?)a.ConstructorArguments[0].Value == name)))
                fixtures.AddRange(FixtureTypes(definition, typeof(ICollectionFixture<>)));
        }
        foreach (var fixture in fixtures)
        {
            foreach (var constructor in fixture.GetConstructors(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance)) yield return constructor;
            foreach (var name in (string[])["InitializeAsync", "Dispose", "DisposeAsync"])
                foreach (var method in fixture.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance).Where(m => m.Name.EndsWith(name, StringComparison.Ordinal)))
                    yield return method;
        }
    }

    private static IEnumerable<Type> FixtureTypes(Type type, Type fixtureInterface) =>
        type.GetInterfaces().Where(i => i.IsGenericType && i.GetGenericTypeDefinition() == fixtureInterface).Select(i => i.GetGenericArguments()[0]);

    /// <summary>The first process or host start reachable from the roots through this assembly's code, or null.</summary>
    private static string? Reach(IEnumerable<MethodBase> roots)
    {
        var seen = new HashSet<MethodBase>();
        var pending = new Stack<MethodBase>(roots);
        while (pending.TryPop(out var method))
        {
            if (!seen.Add(method)) continue;
            foreach (var callee in Callees(method))
            {
                if (StartOf(callee) is { } start && !InstantProcesses.Contains((method.DeclaringType!, method.Name)))
                    return $"{start} (via {method.DeclaringType?.Name}.{method.Name})";
                if (callee.DeclaringType?.Assembly == ThisAssembly) pending.Push(callee);
            }
            if (method.GetCustomAttribute<StateMachineAttribute>() is { } stateMachine)
                foreach (var body in stateMachine.StateMachineType.GetMethods(BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public | BindingFlags.DeclaredOnly))
                    pending.Push(body);
            if (method.DeclaringType?.TypeInitializer is { } initializer) pending.Push(initializer);
        }
        return null;
    }

    private static string? StartOf(MethodBase callee)
    {
        var type = callee.DeclaringType;
        if (type == typeof(Process) && callee.Name == nameof(Process.Start)) return "Process.Start";
        if (type is not null && callee.Name is "Start" or "StartAsync" or "Run" or "RunAsync" &&
            (typeof(IHost).IsAssignableFrom(type) || type == typeof(HostingAbstractionsHostExtensions)))
            return $"{type.Name}.{callee.Name}";
        return null;
    }

    /// <summary>The methods a method's IL calls, constructs, or takes as a delegate, and the initializers of static fields it reads.</summary>
    private static List<MethodBase> Callees(MethodBase method)
    {
        if (!CalleesOf.TryGetValue(method, out var callees)) CalleesOf[method] = callees = ReadCallees(method).ToList();
        return callees;
    }

    private static readonly Dictionary<MethodBase, List<MethodBase>> CalleesOf = [];

    private static IEnumerable<MethodBase> ReadCallees(MethodBase method)
    {
        var il = method.GetMethodBody()?.GetILAsByteArray();
        if (il is null) yield break;
        var typeArguments = method.DeclaringType is { IsGenericType: true } declaring ? declaring.GetGenericArguments() : null;
        var methodArguments = method is MethodInfo { IsGenericMethod: true } ? method.GetGenericArguments() : null;
        for (var at = 0; at < il.Length;)
        {
            var code = il[at] == 0xFE ? OpCodesByValue[(short)(0xFE00 | il[at + 1])] : OpCodesByValue[il[at]];
            at += code.Size;
            var operand = code.OperandType switch
            {
                OperandType.InlineNone => 0,
                OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
                OperandType.InlineVar => 2,
                OperandType.InlineI8 or OperandType.InlineR => 8,
                OperandType.InlineSwitch => 4 + 4 * BitConverter.ToInt32(il, at),
                _ => 4,
            };
            MemberInfo? member = null;
            if (code.OperandType is OperandType.InlineMethod or OperandType.InlineField)
            {
                try
                {
                    member = method.Module.ResolveMember(BitConverter.ToInt32(il, at), typeArguments, methodArguments);
                }
                catch (ArgumentException)
                {
                }
            }
            at += operand;
            if (member is MethodBase callee) yield return callee;
            else if (member is FieldInfo { IsStatic: true, DeclaringType.TypeInitializer: { } initializer }) yield return initializer;
        }
    }
}
