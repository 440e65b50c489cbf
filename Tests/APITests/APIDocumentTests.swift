import Testing
@testable import ResultsAPI

/// Requests are checked against whatever the OpenAPI document says, not against rules kept
/// beside it: a document with other constraints changes what is accepted, and a constraint
/// the server cannot enforce keeps the document from loading.
@Suite struct APIDocumentTests {
    private static func document(parameters: String, security: String = "") throws -> APIDocument {
        let json = """
            {"openapi": "3.1.0", "paths": {"/things": {"get": {\(security)"parameters": [
              {"$ref": "#/components/parameters/size"}, {"$ref": "#/components/parameters/name"}]}}},
             "components": {"parameters": \(parameters)}}
            """
        return try APIDocument(bytes: Array(json.utf8))
    }

    private static let parameters = """
        {"size": {"name": "size", "in": "query", "schema": {"type": "integer", "minimum": 2, "maximum": 5, "default": 3}},
         "name": {"name": "name", "in": "query", "schema": {"type": "string", "minLength": 2, "maxLength": 4, "pattern": "^[ab]+$"}}}
        """

    private func check(_ query: String, in document: APIDocument) -> Result<RequestParameters, APIError> {
        Result { () throws(APIError) in try RequestParameters(query: FormQuery(query), rules: document.parameters(of: "/things")) }
    }

    @Test func theDocumentsRangesLengthsAndPatternsAreWhatIsEnforced() throws {
        let document = try Self.document(parameters: Self.parameters)
        for accepted in ["size=2", "size=5", "name=ab", "name=abba", "size=4&name=ba", "other=anything"] {
            #expect((try? check(accepted, in: document).get()) != nil, "\(accepted)")
        }
        for (refused, name) in [("size=1", "size"), ("size=6", "size"), ("size=2.0", "size"), ("size=%2B3", "size"),
                                ("name=a", "name"), ("name=ababa", "name"), ("name=abc", "name"), ("name=", "name")] {
            guard case .failure(let error) = check(refused, in: document) else {
                Issue.record("\(refused) was accepted")
                continue
            }
            #expect(error.code == "invalid_parameter")
            #expect(error.message.hasPrefix("\(name): "), "\(error.message)")
        }
    }

    @Test func absentParametersTakeTheDocumentedDefault() throws {
        let parameters = try check("", in: try Self.document(parameters: Self.parameters)).get()
        #expect(parameters.integer("size") == 3)
        #expect(parameters.string("name") == nil)
    }

    @Test func anEnumAllowsOnlyItsValues() throws {
        let document = try Self.document(parameters: """
            {"size": {"name": "size", "in": "query", "schema": {"type": "integer"}},
             "name": {"name": "name", "in": "query", "schema": {"type": "string", "enum": ["red", "green"]}}}
            """)
        #expect((try? check("name=green", in: document).get())?.string("name") == "green")
        guard case .failure(let error) = check("name=blue", in: document) else {
            Issue.record("blue was accepted")
            return
        }
        #expect(error.message == "name: 'blue' is invalid; expected one of red, green")
    }

    @Test(arguments: [
        #"{"type": "string", "format": "email"}"#,  // a keyword nothing enforces
        #"{"type": "number"}"#,  // a type nothing parses
        #"{"type": "integer", "minimum": 5, "maximum": 1}"#,
        #"{"type": "string", "pattern": "([unclosed"}"#,
    ])
    func aConstraintTheServerCannotEnforceKeepsTheDocumentFromLoading(_ schema: String) {
        let parameters = """
            {"size": {"name": "size", "in": "query", "schema": \(schema)},
             "name": {"name": "name", "in": "query", "schema": {"type": "string"}}}
            """
        #expect(throws: APIDocumentError.self) { try Self.document(parameters: parameters) }
    }

    @Test func openPathsAreTheOperationsWithAnEmptySecurityRequirement() throws {
        #expect(try Self.document(parameters: Self.parameters, security: #""security": [], "#).openPaths == ["/things"])
        #expect(try Self.document(parameters: Self.parameters).openPaths.isEmpty)
        #expect(APIDocument.bundled.openPaths == [
            "/health", "/", "/assets/dashboard.css", "/assets/dashboard.js", "/assets/chart.js", "/session",
        ])
    }
}
