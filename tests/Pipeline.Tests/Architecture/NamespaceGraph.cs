using System.Collections.Immutable;
using System.Reflection.Emit;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;

namespace Pipeline.Tests.Architecture;

/// <summary>
/// Which namespace uses which, read from compiled assemblies (System.Reflection.Metadata): base types, interfaces,
/// fields, signatures, attributes, locals and every type, method and field token in the method bodies.
/// A nested or compiler-generated type (closure, async state machine) counts as its outermost declaring type.
/// Not seen: constants, which the compiler copies into the user (a namespace used only for a const leaves no trace).
/// </summary>
public sealed class NamespaceGraph
{
    private readonly Dictionary<string, HashSet<string>> _edges = new(StringComparer.Ordinal);
    private readonly Dictionary<(string From, string To), string> _evidence = new();

    /// <summary>Each namespace and the namespaces it uses.</summary>
    public IReadOnlyDictionary<string, HashSet<string>> Edges => _edges;

    public static NamespaceGraph FromEdges(IEnumerable<(string From, string To)> edges)
    {
        var graph = new NamespaceGraph();
        foreach (var (from, to) in edges)
            graph.Add(from, to, $"{from} -> {to}");
        return graph;
    }

    /// <summary>The graph over the namespaces that <paramref name="include"/> accepts, from every type defined in the assemblies.</summary>
    public static NamespaceGraph FromAssemblies(IEnumerable<string> assemblyPaths, Func<string, bool> include)
    {
        var graph = new NamespaceGraph();
        foreach (string path in assemblyPaths)
        {
            using var stream = File.OpenRead(path);
            using var pe = new PEReader(stream);
            new AssemblyScan(pe, graph, include).Run();
        }
        return graph;
    }

    /// <summary>Each group of namespaces that reach one another (strongly connected, more than one), sorted; empty when acyclic.</summary>
    public IReadOnlyList<IReadOnlyList<string>> Cycles()
    {
        // Tarjan's strongly connected components
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var low = new Dictionary<string, int>(StringComparer.Ordinal);
        var stack = new Stack<string>();
        var onStack = new HashSet<string>(StringComparer.Ordinal);
        var cycles = new List<IReadOnlyList<string>>();
        int next = 0;

        void Visit(string v)
        {
            index[v] = low[v] = next++;
            stack.Push(v);
            onStack.Add(v);
            foreach (string w in _edges.TryGetValue(v, out var targets) ? targets : [])
            {
                if (!index.ContainsKey(w))
                {
                    Visit(w);
                    low[v] = Math.Min(low[v], low[w]);
                }
                else if (onStack.Contains(w))
                    low[v] = Math.Min(low[v], index[w]);
            }
            if (low[v] != index[v])
                return;
            var component = new List<string>();
            string popped;
            do
            {
                popped = stack.Pop();
                onStack.Remove(popped);
                component.Add(popped);
            } while (popped != v);
            if (component.Count > 1)
                cycles.Add(component.Order(StringComparer.Ordinal).ToList());
        }

        foreach (string v in _edges.Keys.Order(StringComparer.Ordinal))
            if (!index.ContainsKey(v))
                Visit(v);
        return cycles.OrderBy(c => c[0], StringComparer.Ordinal).ToList();
    }

    /// <summary>The edges inside one cycle, each with a type that makes it, for a failure message.</summary>
    public IEnumerable<string> Explain(IReadOnlyList<string> cycle)
    {
        var members = cycle.ToHashSet(StringComparer.Ordinal);
        return _evidence
            .Where(e => members.Contains(e.Key.From) && members.Contains(e.Key.To))
            .OrderBy(e => e.Key.From, StringComparer.Ordinal).ThenBy(e => e.Key.To, StringComparer.Ordinal)
            .Select(e => $"{e.Key.From} -> {e.Key.To} (e.g. {e.Value})");
    }

    private void Add(string from, string to, string evidence)
    {
        if (from == to)
            return;
        if (!_edges.TryGetValue(from, out var targets))
            _edges[from] = targets = new HashSet<string>(StringComparer.Ordinal);
        if (targets.Add(to))
            _evidence[(from, to)] = evidence;
        if (!_edges.ContainsKey(to))
            _edges[to] = new HashSet<string>(StringComparer.Ordinal);
    }

    private sealed class AssemblyScan(PEReader pe, NamespaceGraph graph, Func<string, bool> include)
        : ISignatureTypeProvider<bool, object?>
    {
        private static readonly Dictionary<ushort, OperandType> OperandTypes = typeof(OpCodes)
            .GetFields(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static)
            .Select(f => (OpCode)f.GetValue(null)!)
            .ToDictionary(op => (ushort)op.Value, op => op.OperandType);

        private readonly MetadataReader _reader = pe.GetMetadataReader();
        private readonly HashSet<(string Namespace, string Type)> _found = [];

        public void Run()
        {
            foreach (var handle in _reader.TypeDefinitions)
            {
                var type = _reader.GetTypeDefinition(handle);
                var (owner, ownerType) = Name(handle);
                if (!include(owner))
                    continue;
                _found.Clear();
                ScanType(type);
                foreach (var (ns, name) in _found)
                    if (include(ns))
                        graph.Add(owner, ns, $"{ownerType} uses {name}");
            }
        }

        private void ScanType(TypeDefinition type)
        {
            Entity(type.BaseType);
            foreach (var i in type.GetInterfaceImplementations())
                Entity(_reader.GetInterfaceImplementation(i).Interface);
            Attributes(type.GetCustomAttributes());
            GenericParameters(type.GetGenericParameters());
            foreach (var f in type.GetFields())
            {
                var field = _reader.GetFieldDefinition(f);
                field.DecodeSignature(this, null);
                Attributes(field.GetCustomAttributes());
            }
            foreach (var p in type.GetProperties())
                Attributes(_reader.GetPropertyDefinition(p).GetCustomAttributes());
            foreach (var e in type.GetEvents())
                Entity(_reader.GetEventDefinition(e).Type);
            foreach (var m in type.GetMethods())
            {
                var method = _reader.GetMethodDefinition(m);
                method.DecodeSignature(this, null);
                Attributes(method.GetCustomAttributes());
                GenericParameters(method.GetGenericParameters());
                foreach (var p in method.GetParameters())
                    Attributes(_reader.GetParameter(p).GetCustomAttributes());
                if (method.RelativeVirtualAddress != 0)
                    Body(pe.GetMethodBody(method.RelativeVirtualAddress));
            }
        }

        private void Body(MethodBodyBlock body)
        {
            if (!body.LocalSignature.IsNil)
                _reader.GetStandaloneSignature(body.LocalSignature).DecodeLocalSignature(this, null);
            var il = body.GetILReader();
            while (il.RemainingBytes > 0)
            {
                ushort code = il.ReadByte();
                if (code == 0xFE)
                    code = (ushort)(0xFE00 | il.ReadByte());
                switch (OperandTypes[code])
                {
                    case OperandType.InlineField:
                    case OperandType.InlineMethod:
                    case OperandType.InlineTok:
                    case OperandType.InlineType:
                        Entity(MetadataTokens.EntityHandle(il.ReadInt32()));
                        break;
                    case OperandType.InlineNone:
                        break;
                    case OperandType.ShortInlineBrTarget:
                    case OperandType.ShortInlineI:
                    case OperandType.ShortInlineVar:
                        il.Offset += 1;
                        break;
                    case OperandType.InlineVar:
                        il.Offset += 2;
                        break;
                    case OperandType.InlineI8:
                    case OperandType.InlineR:
                        il.Offset += 8;
                        break;
                    case OperandType.InlineSwitch:
                        int targets = il.ReadInt32();
                        il.Offset += 4 * targets;
                        break;
                    default: // InlineI, InlineBrTarget, InlineSig, InlineString, ShortInlineR
                        il.Offset += 4;
                        break;
                }
            }
        }

        private void Attributes(CustomAttributeHandleCollection attributes)
        {
            foreach (var a in attributes)
                Entity(_reader.GetCustomAttribute(a).Constructor);
        }

        private void GenericParameters(GenericParameterHandleCollection parameters)
        {
            foreach (var p in parameters)
                foreach (var c in _reader.GetGenericParameter(p).GetConstraints())
                    Entity(_reader.GetGenericParameterConstraint(c).Type);
        }

        private void Entity(EntityHandle handle)
        {
            if (handle.IsNil)
                return;
            switch (handle.Kind)
            {
                case HandleKind.TypeDefinition:
                case HandleKind.TypeReference:
                    _found.Add(Name(handle));
                    break;
                case HandleKind.TypeSpecification:
                    _reader.GetTypeSpecification((TypeSpecificationHandle)handle).DecodeSignature(this, null);
                    break;
                case HandleKind.MethodDefinition:
                    _found.Add(Name(_reader.GetMethodDefinition((MethodDefinitionHandle)handle).GetDeclaringType()));
                    break;
                case HandleKind.FieldDefinition:
                    _found.Add(Name(_reader.GetFieldDefinition((FieldDefinitionHandle)handle).GetDeclaringType()));
                    break;
                case HandleKind.MemberReference:
                    var member = _reader.GetMemberReference((MemberReferenceHandle)handle);
                    Entity(member.Parent);
                    if (member.GetKind() == MemberReferenceKind.Method)
                        member.DecodeMethodSignature(this, null);
                    else
                        member.DecodeFieldSignature(this, null);
                    break;
                case HandleKind.MethodSpecification:
                    var spec = _reader.GetMethodSpecification((MethodSpecificationHandle)handle);
                    Entity(spec.Method);
                    spec.DecodeSignature(this, null);
                    break;
            }
        }

        /// <summary>Namespace and name of a type definition or reference, through its outermost declaring type.</summary>
        private (string Namespace, string Type) Name(EntityHandle handle)
        {
            if (handle.Kind == HandleKind.TypeDefinition)
            {
                var type = _reader.GetTypeDefinition((TypeDefinitionHandle)handle);
                var declaring = type.GetDeclaringType();
                return declaring.IsNil
                    ? (_reader.GetString(type.Namespace), _reader.GetString(type.Name))
                    : Name(declaring);
            }
            var reference = _reader.GetTypeReference((TypeReferenceHandle)handle);
            return reference.ResolutionScope.Kind == HandleKind.TypeReference
                ? Name(reference.ResolutionScope)
                : (_reader.GetString(reference.Namespace), _reader.GetString(reference.Name));
        }

        public bool GetTypeFromDefinition(MetadataReader reader, TypeDefinitionHandle handle, byte rawTypeKind) => _found.Add(Name(handle));
        public bool GetTypeFromReference(MetadataReader reader, TypeReferenceHandle handle, byte rawTypeKind) => _found.Add(Name(handle));
        public bool GetTypeFromSpecification(MetadataReader reader, object? context, TypeSpecificationHandle handle, byte rawTypeKind)
            => reader.GetTypeSpecification(handle).DecodeSignature(this, context);
        public bool GetPrimitiveType(PrimitiveTypeCode typeCode) => false;
        public bool GetSZArrayType(bool elementType) => false;
        public bool GetArrayType(bool elementType, ArrayShape shape) => false;
        public bool GetByReferenceType(bool elementType) => false;
        public bool GetPointerType(bool elementType) => false;
        public bool GetPinnedType(bool elementType) => false;
        public bool GetGenericInstantiation(bool genericType, ImmutableArray<bool> typeArguments) => false;
        public bool GetGenericMethodParameter(object? genericContext, int index) => false;
        public bool GetGenericTypeParameter(object? genericContext, int index) => false;
        public bool GetFunctionPointerType(MethodSignature<bool> signature) => false;
        public bool GetModifiedType(bool modifier, bool unmodifiedType, bool isRequired) => false;
    }
}
