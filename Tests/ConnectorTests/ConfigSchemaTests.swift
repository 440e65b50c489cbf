import Connectors
import Testing

@Suite struct ConfigSchemaTests {
    let schema = ConfigSchema(fields: [
        .required("endpoint", .string, "the URL"),
        .optional("page_size", .integer(1...1000), default: .integer(100), "records per page"),
        .optional("auth_type", .choice(["none", "bearer"]), default: .string("none"), "how to authenticate"),
        .optional("api_key", .string, secret: true, "the key"),
    ], rules: { config in
        config.string("auth_type") == "bearer" && config.string("api_key") == nil && config.string("api_key_file") == nil
            ? [("api_key", "is required when auth_type is bearer")] : []
    })

    @Test func defaultsAreApplied() throws {
        let config = try schema.validate(["endpoint": .string("http://x")], connector: "c")
        #expect(config.integer("page_size") == 100)
        #expect(config.string("auth_type") == "none")
    }

    @Test func everyBadFieldIsNamed() {
        #expect {
            try schema.validate(["page_size": .integer(0), "auth_type": .string("oauth"), "colour": .string("red")], connector: "shop")
        } throws: { error in
            let text = "\(error)"
            return text.contains("connector \"shop\"") && text.contains("endpoint is required") && text.contains("page_size must be between 1 and 1000")
                && text.contains("auth_type must be one of none, bearer") && text.contains("colour is not a field")
        }
    }

    @Test func crossFieldRulesRunOnAValidConfig() {
        #expect(throws: ConnectorError.self) {
            try schema.validate(["endpoint": .string("http://x"), "auth_type": .string("bearer")], connector: "c")
        }
        #expect(throws: Never.self) {
            try schema.validate(["endpoint": .string("http://x"), "auth_type": .string("bearer"), "api_key_file": .string("/run/k")], connector: "c")
        }
    }

    @Test func secretsAreResolvedFromTheEnvironmentOrAFileAndMasked() throws {
        let config = try schema.validate(["endpoint": .string("http://x"), "api_key": .string("${SHOP_KEY}")], connector: "c")
        #expect(try SecretResolver(environment: ["SHOP_KEY": "s3cret"]).secret("api_key", in: config) == "s3cret")
        #expect {
            try SecretResolver(environment: [:]).secret("api_key", in: config)
        } throws: { "\($0)".contains("${SHOP_KEY}") && !"\($0)".contains("s3cret") }
        let literal = ["endpoint": ConfigValue.string("http://x"), "api_key": .string("s3cret")]
        #expect(SecretReference.masked(literal, schema: schema)["api_key"] == .string(SecretReference.mask))
        #expect(SecretReference.masked(config.values, schema: schema)["api_key"] == .string("${SHOP_KEY}"))
    }
}
