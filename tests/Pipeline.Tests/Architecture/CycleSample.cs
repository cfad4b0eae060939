// Two namespaces that use each other, compiled into the test assembly, for NamespaceCycleTests to find.
namespace Pipeline.Tests.Architecture.CycleSample.Leaf
{
    public sealed record Money(decimal Amount);
}

namespace Pipeline.Tests.Architecture.CycleSample.Left
{
    public sealed class Order
    {
        public Right.Invoice? Invoice { get; set; }

        public Leaf.Money Total { get; } = new(0);
    }
}

namespace Pipeline.Tests.Architecture.CycleSample.Right
{
    public sealed class Invoice
    {
        // the only use of Left is inside a lambda: the compiler moves it into a nested closure class
        public Func<object> Reopen(int times) => () => Enumerable.Range(0, times).Select(_ => new Left.Order()).ToList();

        public Leaf.Money Due => new(1);
    }
}
