import HTTPTypes
import Hummingbird
import NIOCore

extension JSONBody {
    /// A 200 (or `status`) answer whose body is JSON bytes already written.
    static func response(bytes: [UInt8], status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json; charset=utf-8"
        fields[.contentLength] = String(bytes.count)
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// A list answer: the bare array with the total matching count in `X-Total-Count`.
    static func page(_ page: Page) -> Response {
        var headers = HTTPFields()
        headers[.xTotalCount] = String(page.total)
        return response(body: page.body, headers: headers)
    }

    static func response(body: ByteBuffer, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json; charset=utf-8"
        fields[.contentLength] = String(body.readableBytes)
        return Response(status: status, headers: fields, body: .init(byteBuffer: body))
    }
}

/// One page of a list endpoint: its JSON array and how many items match in all.
struct Page: Sendable {
    var body: ByteBuffer
    var total: Int

    init(json: [UInt8], total: Int) {
        body = ByteBuffer(bytes: json)
        self.total = total
    }
}

extension HTTPField.Name {
    static let xTotalCount = HTTPField.Name("X-Total-Count")!
}
