import PostgresNIO

/// What a PostgreSQL connector reads: a table or view, or the result of a query.
enum PostgresObject: Sendable, Equatable {
    case table(schema: String?, name: String)
    case query(String)

    /// `orders`, `sales.orders` or `query`: how messages name it.
    var label: String {
        switch self {
        case .table(let schema, let name): [schema, name].compactMap { $0 }.joined(separator: ".")
        case .query: "query"
        }
    }

    /// A SELECT of every row, to wrap as `(…) AS source`.
    var selectSQL: String {
        switch self {
        case .table(let schema, let name): "SELECT * FROM " + [schema, name].compactMap { $0 }.map(PostgresSQL.identifier).joined(separator: ".")
        case .query(let sql): sql
        }
    }

    /// `name` or `schema.name`, taken literally (case-sensitive, quoted when used); nil when
    /// it has more than two parts or an empty one.
    init?(table: String) {
        let parts = table.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard (1...2).contains(parts.count), parts.allSatisfy({ !$0.isEmpty }) else { return nil }
        self = parts.count == 2 ? .table(schema: parts[0], name: parts[1]) : .table(schema: nil, name: parts[0])
    }

    /// The query without the trailing semicolons and blanks that would break the wrapping
    /// subquery.
    init(query: String) {
        var sql = Substring(query)
        while let last = sql.last, last == ";" || last.isWhitespace { sql.removeLast() }
        self = .query(String(sql))
    }
}

/// The SQL the source sends. Every read wraps the object as a subquery, so a table and a
/// query are read, described and filtered the same way.
enum PostgresSQL {
    /// `name` as a quoted identifier: `"Order ""Items"""`.
    static func identifier(_ name: String) -> String {
        "\"" + name.replacing("\"", with: "\"\"") + "\""
    }

    /// The object wrapped as `source`; the line breaks keep a trailing `-- comment` of a
    /// query from swallowing the closing parenthesis.
    static func source(_ object: PostgresObject) -> String {
        "(\n\(object.selectSQL)\n) AS source"
    }

    /// Exactly one row, all NULL, whatever the object holds: its cells carry the columns'
    /// names and types, which postgres-nio only exposes on rows. LIMIT 0 has the server
    /// plan the object without reading it; a missing table or a bad query fails here.
    static func describe(_ object: PostgresObject) -> PostgresQuery {
        PostgresQuery(unsafeSQL: "SELECT source.* FROM (SELECT 1) AS one LEFT JOIN (SELECT * FROM \(source(object)) LIMIT 0) AS source ON true")
    }

    /// The select list: columns the encoder decodes itself by name, every other type as
    /// its text form (`interval`, `inet`, arrays, enums). `*` when no cast is needed, which
    /// also keeps a query's duplicate column names working.
    static func selectList(_ columns: [PostgresColumn]) -> String {
        guard !columns.allSatisfy(\.isDecodedDirectly) else { return "source.*" }
        return columns.map { column in
            let name = identifier(column.name)
            return column.isDecodedDirectly ? "source.\(name)" : "source.\(name)::text AS \(name)"
        }.joined(separator: ", ")
    }

    /// Every row, or with a cursor every row after `after` (all of them when nil) in cursor
    /// order. The cursor is qualified so it means the source's column, not a text-cast
    /// output column of the same name.
    static func read(_ object: PostgresObject, columns: [PostgresColumn], cursor: (column: String, after: CursorState?)? = nil, limit: Int? = nil) -> PostgresQuery {
        var sql = "SELECT \(selectList(columns)) FROM \(source(object))"
        var binds = PostgresBindings()
        if let cursor {
            let column = "source.\(identifier(cursor.column))"
            if let after = cursor.after {
                binds.append(after.value)
                sql += " WHERE \(column) > $1::\(after.type)"
            }
            sql += " ORDER BY \(column)"
        }
        if let limit { sql += " LIMIT \(limit)" }
        return PostgresQuery(unsafeSQL: sql, binds: binds)
    }

    /// The user tables and views (not the catalogs, TOAST or other sessions' temp schemas),
    /// with the planner's row estimate (-1: never analysed).
    static let tables: PostgresQuery = """
        SELECT n.nspname::text, c.relname::text, c.reltuples::int8,
               CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'f' THEN 'foreign table' ELSE 'table' END
        FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
          AND n.nspname NOT IN ('pg_catalog', 'information_schema')
          AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'
        ORDER BY 1, 2
        """

    /// The SQL name of a type (`timestamp with time zone`, `bigint`), for casting the
    /// cursor value back: the value travels as text and the server parses it as the type.
    static func typeName(_ type: PostgresDataType) -> PostgresQuery {
        PostgresQuery(unsafeSQL: "SELECT pg_catalog.format_type(\(type.rawValue), NULL)")
    }
}

/// The incremental state of a cursor read: the last cursor value the sink received, as text,
/// and its SQL type, so it binds back exactly (`$1::timestamp with time zone`).
struct CursorState: Codable, Equatable, Sendable {
    var column: String
    var type: String
    var value: String
}
