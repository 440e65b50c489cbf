public import Foundation

extension Contract {
    /// The name under which today's users rules are a contract.
    public static let usersName = "users"

    /// SPEC §5's five user rules: `id` an integer, `firstName` a non-blank string, `email` an
    /// address, `age` a number in `ageRange`, `company.department` a non-blank string found in
    /// the department lookup (which adds `department_code`). Codes and messages are the ones
    /// the pipeline has always reported.
    public static func users(ageRange: ClosedRange<Double>) -> Contract {
        Contract(name: usersName, fields: [
            ContractField("id", type: .integer, required: true, column: "user_id"),
            ContractField("firstName", type: .string, required: true, notBlank: true),
            ContractField("email", type: .string, required: true, format: .email),
            ContractField("age", type: .number, required: true, minimum: ageRange.lowerBound, maximum: ageRange.upperBound),
            ContractField("company.department", type: .string, required: true, notBlank: true,
                          lookup: .init(file: "DEPARTMENTS_CSV", keyColumn: "department", valueColumn: "department_code", adds: "department_code"),
                          column: "department"),
        ])
    }
}
