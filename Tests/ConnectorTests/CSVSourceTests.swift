import Connectors
import ConnectorSources
import CurlHTTP
import ETLCore
import Extraction
import Foundation
import Hummingbird
import Logging
import Synchronization
import TestSupport
import Testing

/// Serialized: the HTTP test checks that no downloaded file is left behind.
@Suite(.serialized) struct CSVSourceTests {
    // MARK: Encodings

    @Test func utf8WithAndWithoutByteOrderMark() async throws {
        let text = Array("id,name\n1,Zoë\n2,Bob\n".utf8)
        for bytes in [text, [0xEF, 0xBB, 0xBF] + text] {
            let records = try await readCSV(bytes)
            #expect(records == [#"{"id":"1","name":"Zoë"}"#, #"{"id":"2","name":"Bob"}"#])
        }
    }

    @Test func latin1IsTranscoded() async throws {
        let bytes = Array("id,name\n1,Ren".utf8) + [0xE9] + Array("\n2,Fran".utf8) + [0xE7] + Array("ois\n".utf8)
        #expect(try await readCSV(bytes, ["encoding": .string("latin-1")]) == [#"{"id":"1","name":"René"}"#, #"{"id":"2","name":"François"}"#])
        #expect(try await readCSV(bytes, ["encoding": .string("iso-8859-1")]).count == 2)
    }

    @Test func utf16WithByteOrderMarkInBothByteOrders() async throws {
        let text = "id,name\r\n1,Zoë\r\n2,😀\r\n"
        let little: [UInt8] = [0xFF, 0xFE] + text.utf16.flatMap { unit -> [UInt8] in [UInt8(unit & 0xFF), UInt8(unit >> 8)] }
        let big: [UInt8] = [0xFE, 0xFF] + text.utf16.flatMap { unit -> [UInt8] in [UInt8(unit >> 8), UInt8(unit & 0xFF)] }
        let expected = [#"{"id":"1","name":"Zoë"}"#, #"{"id":"2","name":"😀"}"#]
        #expect(try await readCSV(little, ["encoding": .string("utf-16")]) == expected)
        #expect(try await readCSV(big, ["encoding": .string("utf-16")]) == expected)
        #expect(try await readCSV(Array(little.dropFirst(2)), ["encoding": .string("utf-16le")]) == expected)
        #expect(try await readCSV(big, ["encoding": .string("utf-16be")]) == expected)
        let error = await readError(Array(little.dropFirst(2)), ["encoding": .string("utf-16")])
        #expect(error?.kind == .fetch && error?.message.contains("byte-order mark") == true)
    }

    @Test func charactersSplitAcrossReadChunksDecode() async throws {
        // Far more than one 64 KiB read, with 2-, 3- and 4-byte characters at every offset.
        var text = "n,s\n"
        for number in 1...20_000 { text += "\(number),ë€😀\n" }
        let expected = (1...20_000).map { #"{"n":"\#($0)","s":"ë€😀"}"# }
        #expect(try await readCSV(Array(text.utf8)) == expected)
        let utf16: [UInt8] = text.utf16.flatMap { unit -> [UInt8] in [UInt8(unit & 0xFF), UInt8(unit >> 8)] }
        #expect(try await readCSV(utf16, ["encoding": .string("utf-16le")]) == expected)
    }

    @Test func anInvalidUTF8ByteFailsWithItsOffsetAndLine() async throws {
        let bytes = Array("id,name\n1,ok\n2,Ren".utf8) + [0xE9, 0x0A]
        let error = try #require(await readError(bytes))
        #expect(error.kind == .fetch)
        #expect(error.position == "byte 18 (line 3)")
        #expect(error.message.contains("0xE9") && error.message.contains("latin-1"))
        #expect(error.object?.hasSuffix("data.csv") == true)
    }

    // MARK: RFC 4180

    @Test func quotedFieldsKeepDelimitersDoubledQuotesAndNewlines() async throws {
        let csv = "id,note\r\n1,\"a, b\"\r\n2,\"say \"\"hi\"\"\"\r\n3,\"line one\r\nline two\nline three\"\r\n4,plain\r\n"
        #expect(try await readCSV(Array(csv.utf8)) == [
            #"{"id":"1","note":"a, b"}"#, #"{"id":"2","note":"say \"hi\""}"#,
            #"{"id":"3","note":"line one\r\nline two\nline three"}"#, #"{"id":"4","note":"plain"}"#,
        ])
    }

    @Test func aWrongFieldCountNamesTheLineItStartsOn() async throws {
        // The quoted field spans lines 2 and 3, so the bad row is on line 4.
        let error = try #require(await readError(Array("id,note\n1,\"two\nlines\"\n2,a,b\n".utf8)))
        #expect(error.kind == .fetch)
        #expect(error.position == "line 4")
        #expect(error.message == "3 fields where the header has 2")
        #expect("\(error)".contains("data.csv line 4: 3 fields where the header has 2"))
    }

    @Test func anUnterminatedQuoteAndAStrayQuoteAreErrors() async throws {
        let unterminated = try #require(await readError(Array("id,note\n1,ok\n2,\"never closed\n3,x\n".utf8)))
        #expect(unterminated.position == "line 3" && unterminated.message.contains("never closed"))
        let stray = try #require(await readError(Array("id,note\n1,\"ab\"c\n".utf8)))
        #expect(stray.position == "line 2" && stray.message.contains("doubled"))
    }

    @Test func semicolonAndTabDelimiters() async throws {
        #expect(try await readCSV(Array("a;b\n1;x,y\n".utf8), ["delimiter": .string(";")]) == [#"{"a":"1","b":"x,y"}"#])
        for tab in ["\\t", "\t"] {
            #expect(try await readCSV(Array("a\tb\n1\t2\n".utf8), ["delimiter": .string(tab)]) == [#"{"a":"1","b":"2"}"#])
        }
        #expect(throws: ConnectorError.self) { try CSVSource.schema.validate(["url": .string("/x.csv"), "delimiter": .string("ab")], connector: "c") }
    }

    @Test func skipRowsAndExplicitColumns() async throws {
        let withPreamble = "exported by shop\r\nat noon\r\nid,name\r\n1,x\r\n"
        #expect(try await readCSV(Array(withPreamble.utf8), ["skip_rows": .integer(2)]) == [#"{"id":"1","name":"x"}"#])
        let headerless = "1,x\n\n2,y\n"
        let columns: ConfigValue = .array([.string("id"), .string("name")])
        #expect(try await readCSV(Array(headerless.utf8), ["columns": columns]) == [#"{"id":"1","name":"x"}"#, #"{"id":"2","name":"y"}"#])
        let error = try #require(await readError(Array("1,x,extra\n".utf8), ["columns": columns]))
        #expect(error.position == "line 1" && error.message == "3 fields where columns lists 2")
    }

    @Test func columnTypesConvertWhatTheyCanAndLeaveTheRestAsStrings() async throws {
        let csv = "id,price,active,name,qty\n1,19.99,TRUE,Ann,\nx,abc,maybe,Bob,3\n-7,1e3,false,Cy,007\n"
        let types: ConfigValue = .object(["id": .string("integer"), "price": .string("number"), "active": .string("boolean"), "qty": .string("integer")])
        #expect(try await readCSV(Array(csv.utf8), ["column_types": types]) == [
            #"{"id":1,"price":19.99,"active":true,"name":"Ann","qty":null}"#,
            #"{"id":"x","price":"abc","active":"maybe","name":"Bob","qty":3}"#,
            #"{"id":-7,"price":1e3,"active":false,"name":"Cy","qty":7}"#,
        ])
        let unknown = try #require(await readError(Array(csv.utf8), ["column_types": .object(["nope": .string("integer")])]))
        #expect(unknown.kind == .configuration && unknown.message.contains("nope"))
    }

    @Test func theURLMustBeHTTPAFileURLOrAPath() {
        #expect { try CSVSource.schema.validate(["url": .string("ftp://host/x.csv")], connector: "c") } throws: {
            "\($0)".contains("url must be an http(s) URL, a file:// URL or a file path")
        }
        #expect { try CSVSource.schema.validate(["url": .string("/x.csv"), "headers": .object(["A": .string("b")])], connector: "c") } throws: {
            "\($0)".contains("headers apply to an http(s) url only")
        }
        #expect { try CSVSource.schema.validate(["url": .string("/x.csv"), "column_types": .object(["a": .string("date")])], connector: "c") } throws: {
            "\($0)".contains("column_types gives column \"a\" the type \"date\"")
        }
    }

    @Test func aMissingFileIsNotFound() async throws {
        let source = try makeCSVSource(["url": .string("/nonexistent/folder/orders.csv")])
        await #expect { try await source.check() } throws: { ($0 as? ConnectorError)?.kind == .notFound }
    }

    // MARK: Lifecycle

    @Test func checkAndDiscoverAFileURL() async throws {
        try await withFile(Array("id,name\n1,a\n2,b\n3,c\n".utf8)) { path in
            let source = try makeCSVSource(["url": .string(URL(fileURLWithPath: path).absoluteString)])
            try await source.check()
            let objects = try await source.discover(sampleSize: 2)
            #expect(objects.count == 1)
            #expect(objects.first?.name == "data.csv")
            #expect(objects.first?.details == ["path": path, "size": "20"])
            #expect(objects.first?.sample.map { String(decoding: $0, as: UTF8.self) } == [#"{"id":"1","name":"a"}"#, #"{"id":"2","name":"b"}"#])
        }
    }

    @Test func fiftyThousandRowsArriveInBatchesNoLargerThanTheBatchSize() async throws {
        var csv = "id,name,amount\n"
        for id in 1...50_000 { csv += "\(id),user \(id),\(id % 97).5\n" }
        try await withFile(Array(csv.utf8)) { path in
            let sink = CSVCollectingSink()
            let source = try makeCSVSource(["url": .string(path)], batchSize: 777)
            #expect(try await source.read(after: nil, into: sink) == nil)
            let sizes = await sink.batchSizes
            #expect(sizes.reduce(0, +) == 50_000)
            #expect(sizes.allSatisfy { $0 <= 777 } && sizes.count == 65)
            #expect(await sink.positions.prefix(2) == ["data.csv line 2", "data.csv line 779"])
            #expect(await sink.records.last == #"{"id":"50000","name":"user 50000","amount":"45.5"}"#)
        }
    }

    // MARK: HTTP

    @Test func anHTTPFileIsDownloadedReadAndDeleted() async throws {
        let attempts = CSVAttemptCounter()
        let router = Router()
        router.get("exports/orders.csv") { request, _ -> String in
            guard request.headers[.authorization] == "Bearer s3cret" else { throw HTTPError(.unauthorized) }
            return "id,total\n1,9.50\n2,12\n"
        }
        router.get("flaky.csv") { _, _ -> String in
            guard attempts.next() > 2 else { throw HTTPError(.serviceUnavailable) }
            return "a\n1\n"
        }
        router.get("moved.csv") { _, _ in Response(status: .found, headers: [.location: "/flaky.csv"]) }
        try await withServer(router) { base in
            let environment = ["SHOP_TOKEN": "Bearer s3cret"]
            let headers: ConfigValue = .object(["Authorization": .string("${SHOP_TOKEN}")])
            let source = try makeCSVSource(["url": .string(base + "/exports/orders.csv"), "headers": headers,
                                         "column_types": .object(["total": .string("number")])], environment: environment)
            let sink = CSVCollectingSink()
            _ = try await source.read(after: nil, into: sink)
            #expect(await sink.records == [#"{"id":"1","total":9.50}"#, #"{"id":"2","total":12}"#])
            let objects = try await source.discover(sampleSize: 1)
            #expect(objects.first?.name == "orders.csv" && objects.first?.details["url"] == base + "/exports/orders.csv")
            #expect(objects.first?.details["size"] == "21")

            let refused = try makeCSVSource(["url": .string(base + "/exports/orders.csv")])
            await #expect { try await refused.check() } throws: { ($0 as? ConnectorError)?.kind == .authentication }
            let missing = try makeCSVSource(["url": .string(base + "/exports/none.csv")])
            await #expect { try await missing.check() } throws: {
                let error = $0 as? ConnectorError
                return error?.kind == .notFound && error?.object == base + "/exports/none.csv"
            }

            let clock = TestClock()
            // A redirect on the same host is followed; the target fails twice, then answers.
            let flaky = try makeCSVSource(["url": .string(base + "/moved.csv")], clock: clock, retries: 3)
            let flakySink = CSVCollectingSink()
            _ = try await flaky.read(after: nil, into: flakySink)
            #expect(await flakySink.records == [#"{"a":"1"}"#])
            #expect(clock.sleeps.count == 2)
        }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory()).filter { $0.hasPrefix("simple-csv-") }
        #expect(leftovers.isEmpty)
    }

    @Test func cancellingTheTaskAbortsADownloadUnderWay() async throws {
        let (requests, requested) = AsyncStream<Void>.makeStream()
        let router = Router()
        router.get("endless.csv") { _, _ in
            requested.yield()
            return Response(status: .ok, body: ResponseBody { writer in
                try await writer.write(ByteBuffer(string: "id\n1\n"))
                try await Task.sleep(for: .seconds(60))
            })
        }
        try await withServer(router) { base in
            // The timeout is far beyond the wait below: only the cancellation can end the read.
            let source = try makeCSVSource(["url": .string(base + "/endless.csv")], timeoutSeconds: 120)
            let read = Task { try await source.read(after: nil, into: CSVCollectingSink()) }
            var iterator = requests.makeAsyncIterator()
            _ = await iterator.next()
            read.cancel()
            await #expect(throws: CancellationError.self) { try await read.value }
        }
    }

    @Test func anUnreachableServerIsAConnectionErrorAfterTheRetries() async throws {
        let clock = TestClock()
        let source = try makeCSVSource(["url": .string("http://127.0.0.1:1/orders.csv")], clock: clock, retries: 2)
        await #expect { try await source.check() } throws: {
            let error = $0 as? ConnectorError
            return error?.kind == .connection && error?.message.contains("after 3 attempts") == true
        }
        #expect(clock.sleeps.count == 2)
    }

    // MARK: Helpers

    private func readCSV(_ bytes: [UInt8], _ config: [String: ConfigValue] = [:]) async throws -> [String] {
        try await withFile(bytes) { path in
            let sink = CSVCollectingSink()
            _ = try await makeCSVSource(config.merging(["url": .string(path)]) { $1 }).read(after: nil, into: sink)
            return await sink.records
        }
    }

    private func readError(_ bytes: [UInt8], _ config: [String: ConfigValue] = [:]) async -> ConnectorError? {
        do {
            _ = try await readCSV(bytes, config)
            return nil
        } catch {
            return error as? ConnectorError
        }
    }
}

/// Counts a route's requests.
private final class CSVAttemptCounter: Sendable {
    private let count = Mutex(0)

    func next() -> Int { count.withLock { $0 += 1; return $0 } }
}

/// `bytes` as `data.csv` in a fresh folder, removed afterwards.
private func withFile<T>(_ bytes: [UInt8], _ body: (String) async throws -> T) async throws -> T {
    let folder = try makeConnectorTestFolder()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let path = folder + "/data.csv"
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    return try await body(path)
}

/// `router` served on a random loopback port for the time of `body` (given the base URL).
private func withServer(_ router: Router<BasicRequestContext>, _ body: (String) async throws -> Void) async throws {
    let (ports, continuation) = AsyncStream<Int>.makeStream()
    // Quiet: stopping by cancellation makes the server log its closed channels as errors.
    var logger = Logger(label: "csv-test-server")
    logger.logLevel = .critical
    let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                          onServerRunning: { continuation.yield($0.localAddress?.port ?? 0); continuation.finish() },
                          logger: logger)
    let server = Task { try await app.runService(gracefulShutdownSignals: []) }
    var iterator = ports.makeAsyncIterator()
    let port = try #require(await iterator.next())
    do {
        try await body("http://127.0.0.1:\(port)")
    } catch {
        server.cancel()
        _ = await server.result
        throw error
    }
    server.cancel()
    _ = await server.result
}
