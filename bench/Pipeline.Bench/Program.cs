using BenchmarkDotNet.Running;

// BenchmarkDotNet over every benchmark class in this assembly, e.g.
//   dotnet run -c Release --project bench/Pipeline.Bench -- --filter '*Decode*'
// or the decoder's own limit on a corpus (bench/cpu-compare.sh):
//   dotnet run -c Release --project bench/Pipeline.Bench -- decode-limit CORPUS_DIR [THREADS] [ROUNDS]
if (args.Length > 1 && args[0] == "decode-limit") return Pipeline.Bench.DecodeLimit.Run(args);
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;

public partial class Program;
