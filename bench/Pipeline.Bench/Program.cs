using BenchmarkDotNet.Running;

// BenchmarkDotNet over every benchmark class in this assembly, e.g.
//   dotnet run -c Release --project bench/Pipeline.Bench -- --filter '*Decode*'
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);

public partial class Program;
