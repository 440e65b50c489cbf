public import Connectors
public import Contracts
import Transformation

/// One field `discover` found in a sample: its dotted path, its JSON type (`mixed` when the
/// sample disagrees) and the share of records in which it is null or absent.
public struct InferredField: Sendable, Equatable, Codable {
    public let name: String
    public let type: String
    public let nullShare: Double

    enum CodingKeys: String, CodingKey {
        case name, type, nullShare = "null_share"
    }
}

/// Infers fields from sample records, and a starting contract from them.
public enum FieldInference {
    /// Objects inside records are described member by member down to this depth.
    static let maximumDepth = 3

    public static func fields(of sample: [[UInt8]]) -> [InferredField] {
        var order: [String] = []
        var types: [String: Set<String>] = [:]
        var present: [String: Int] = [:]
        var records = 0
        for bytes in sample {
            guard let value = try? JSONParser.parse(bytes), case .object(let members) = value else { continue }
            records += 1
            collect(members, prefix: "", depth: 1, order: &order, types: &types, present: &present)
        }
        guard records > 0 else { return [] }
        return order.map { name in
            let seen = types[name] ?? []
            let type = seen.isEmpty ? "null" : seen.count == 1 ? seen.first! : (seen == ["integer", "number"] ? "number" : "mixed")
            return InferredField(name: name, type: type, nullShare: Double(records - (present[name] ?? 0)) / Double(records))
        }
    }

    private static func collect(
        _ members: [JSONValue.Member], prefix: String, depth: Int,
        order: inout [String], types: inout [String: Set<String>], present: inout [String: Int]
    ) {
        var seenHere = Set<String>()
        for member in members where seenHere.insert(member.key).inserted {
            let name = prefix + member.key
            if types[name] == nil { order.append(name); types[name] = [] }
            guard member.value != .null else { continue }
            present[name, default: 0] += 1
            if case .object(let inner) = member.value, depth < maximumDepth {
                types[name]!.insert("object")
                collect(inner, prefix: name + ".", depth: depth + 1, order: &order, types: &types, present: &present)
            } else {
                types[name]!.insert(typeName(member.value))
            }
        }
    }

    private static func typeName(_ value: JSONValue) -> String {
        switch value {
        case .number: value.int64Value != nil ? "integer" : "number"
        case .bool: "boolean"
        default: value.typeName
        }
    }

    /// A contract to start from: every top-level scalar field with its type, required when
    /// the sample never lacks it. Objects are left to the operator (their members are listed).
    public static func suggestedContract(named name: String, from fields: [InferredField]) -> Contract {
        Contract(name: name, fields: fields.compactMap { field in
            guard !field.name.contains("."), let type = ContractField.FieldType(rawValue: field.type), type != .object else { return nil }
            return ContractField(field.name, type: type, required: field.nullShare == 0)
        })
    }
}
