import Foundation

/// The calendar formats a contract can require, checked strictly (a real day, a real time).
enum CalendarText {
    private static let dayFormatter: DateFormatter = {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd"
        formatter.isLenient = false
        return formatter
    }()

    static func isDate(_ text: String) -> Bool {
        text.utf8.count == 10 && dayFormatter.date(from: text) != nil
    }

    static func isDateTime(_ text: String) -> Bool {
        (try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text)) != nil
            || (try? Date.ISO8601FormatStyle().parse(text)) != nil
    }
}
