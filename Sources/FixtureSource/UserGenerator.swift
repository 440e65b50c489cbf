// The shape and vocabulary of DummyJSON's /users records, generated from (seed, id).

import ETLCore

extension FixtureUsers {
    /// Appends user `id`'s compact JSON to `out`.
    func appendUser(id: Int, into out: inout JSONWriter) {
        var random = SplitMix64(seed: SplitMix64.mix(seed, UInt64(bitPattern: Int64(id))))
        let broken = invalidKind(id: id)

        let gender = random.below(2) == 0 ? "female" : "male"
        let firstName = gender == "female" ? random.pick(Vocabulary.femaleNames) : random.pick(Vocabulary.maleNames)
        let lastName = random.pick(Vocabulary.lastNames)
        let maidenName = gender == "female" && random.below(3) == 0 ? random.pick(Vocabulary.lastNames) : ""
        let age = random.inRange(18...65)
        let lowerFirst = firstName.lowercased()
        let lowerLast = lastName.lowercased().filter { $0 != "'" && $0 != " " }
        let username = "\(lowerFirst)\(lowerLast.prefix(1))\(id)"

        out.beginObject()
        out.key("id")
        if broken == .idAsString { out.string(String(id)) } else { out.integer(id) }
        // firstName
        switch broken {
        case .missingFirstName: break
        case .emptyFirstName, .severalProblems: out.member("firstName", string: "")
        default: out.member("firstName", string: firstName)
        }
        out.member("lastName", string: lastName)
        out.member("maidenName", string: maidenName)
        // age
        switch broken {
        case .ageTooYoung: out.member("age", integer: 12)
        case .ageTooOld, .severalProblems: out.member("age", integer: 80)
        case .ageAsString: out.member("age", string: "thirty")
        default: out.member("age", integer: age)
        }
        out.member("gender", string: gender)
        // email
        let email: String = switch broken {
        case .emailWithoutAt: "\(lowerFirst).\(lowerLast)\(id)x.dummyjson.com"
        case .emailWithoutDomainDot: "\(lowerFirst)@\(lowerLast)"
        case .emailWithSpace: "\(lowerFirst) \(lowerLast)\(id)@x.dummyjson.com"
        case .severalProblems: "no-at-sign"
        default: "\(lowerFirst).\(lowerLast)\(id)@x.dummyjson.com"
        }
        out.member("email", string: email)
        out.member("phone", string: "+\(random.pick(Vocabulary.countryCodes)) \(digits(3, &random))-\(digits(3, &random))-\(digits(4, &random))")
        out.member("username", string: username)
        out.member("password", string: "\(username)pass")
        out.member("birthDate", string: "\(2025 - age)-\(random.inRange(1...12))-\(random.inRange(1...28))")
        out.member("image", string: "https://dummyjson.com/icon/\(username)/128")
        out.member("bloodGroup", string: random.pick(Vocabulary.bloodGroups))
        out.member("height", decimal: random.inRange(15000...21000), scale: 2)
        out.member("weight", decimal: random.inRange(4500...12000), scale: 2)
        out.member("eyeColor", string: random.pick(Vocabulary.eyeColors))
        out.key("hair")
        out.beginObject()
        out.member("color", string: random.pick(Vocabulary.hairColors))
        out.member("type", string: random.pick(Vocabulary.hairTypes))
        out.endObject()
        out.member("ip", string: "\(random.inRange(1...223)).\(random.below(256)).\(random.below(256)).\(random.inRange(1...254))")
        out.key("address")
        appendAddress(&random, into: &out)
        out.key("macAddress")
        out.string((0..<6).map { _ in hex(random.below(256), digits: 2) }.joined(separator: ":"))
        out.member("university", string: random.pick(Vocabulary.universities))
        // bank
        out.key("bank")
        out.beginObject()
        out.member("cardExpire", string: "\(twoDigits(random.inRange(1...12)))/\(twoDigits(random.inRange(25...32)))")
        out.member("cardNumber", string: digits(16, &random, leadingNonZero: true))
        out.member("cardType", string: random.pick(Vocabulary.cardTypes))
        out.member("currency", string: random.pick(Vocabulary.currencies))
        out.member("iban", string: random.pick(Vocabulary.ibanCountries) + digits(2, &random) + alphanumerics(18, &random))
        out.endObject()
        // company
        out.key("company")
        out.beginObject()
        switch broken {
        case .missingDepartment: break
        case .emptyDepartment: out.member("department", string: "")
        case .unknownDepartment: out.member("department", string: "Astrology")
        default: out.member("department", string: random.pick(Self.departments))
        }
        out.member("name", string: companyName(&random))
        out.member("title", string: random.pick(Vocabulary.titles))
        out.key("address")
        appendAddress(&random, into: &out)
        out.endObject()
        out.member("ein", string: "\(digits(3, &random, leadingNonZero: true))-\(digits(3, &random))")
        out.member("ssn", string: "\(digits(3, &random, leadingNonZero: true))-\(digits(3, &random))-\(digits(3, &random))")
        out.member("userAgent", string: random.pick(Vocabulary.userAgents))
        out.key("crypto")
        out.beginObject()
        out.member("coin", string: "Bitcoin")
        out.key("wallet")
        out.string("0x" + (0..<40).map { _ in hex(random.below(16), digits: 1) }.joined())
        out.member("network", string: "Ethereum (ERC20)")
        out.endObject()
        let roll = random.below(100)
        out.member("role", string: roll < 3 ? "admin" : roll < 8 ? "moderator" : "user")
        out.endObject()
    }

    private func appendAddress(_ random: inout SplitMix64, into out: inout JSONWriter) {
        let (state, stateCode) = random.pick(Vocabulary.states)
        out.beginObject()
        out.member("address", string: "\(random.inRange(1...9999)) \(random.pick(Vocabulary.streets))")
        out.member("city", string: random.pick(Vocabulary.cities))
        out.member("state", string: state)
        out.member("stateCode", string: stateCode)
        out.member("postalCode", string: digits(5, &random, leadingNonZero: true))
        out.key("coordinates")
        out.beginObject()
        out.member("lat", decimal: random.inRange(-90_000_000...90_000_000), scale: 6)
        out.member("lng", decimal: random.inRange(-180_000_000...180_000_000), scale: 6)
        out.endObject()
        out.member("country", string: "United States")
        out.endObject()
    }

    private func companyName(_ random: inout SplitMix64) -> String {
        switch random.below(3) {
        case 0: "\(random.pick(Vocabulary.lastNames)), \(random.pick(Vocabulary.lastNames)) and \(random.pick(Vocabulary.lastNames))"
        case 1: "\(random.pick(Vocabulary.lastNames)) - \(random.pick(Vocabulary.lastNames))"
        default: "\(random.pick(Vocabulary.lastNames)) \(random.pick(["Inc", "LLC", "Group"]))"
        }
    }

    private func digits(_ count: Int, _ random: inout SplitMix64, leadingNonZero: Bool = false) -> String {
        var bytes = [UInt8]()
        bytes.reserveCapacity(count)
        for index in 0..<count {
            let digit = index == 0 && leadingNonZero ? random.inRange(1...9) : random.below(10)
            bytes.append(UInt8(ascii: "0") + UInt8(digit))
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private func alphanumerics(_ count: Int, _ random: inout SplitMix64) -> String {
        let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)
        var bytes = [UInt8]()
        bytes.reserveCapacity(count)
        for _ in 0..<count { bytes.append(alphabet[random.below(alphabet.count)]) }
        return String(decoding: bytes, as: UTF8.self)
    }

    private func twoDigits(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }

    /// `value` in lowercase hexadecimal, zero-padded to `digits`.
    private func hex(_ value: Int, digits: Int) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}

private extension JSONWriter {
    mutating func member(_ name: StaticString, string value: String) {
        key(name)
        string(value)
    }

    mutating func member(_ name: StaticString, integer value: Int) {
        key(name)
        integer(value)
    }

    mutating func member(_ name: StaticString, decimal units: Int, scale: Int) {
        key(name)
        decimal(units, scale: scale)
    }
}

enum Vocabulary {
    static let femaleNames = [
        "Emily", "Sophia", "Emma", "Olivia", "Ava", "Isabella", "Mia", "Charlotte", "Amelia", "Harper",
        "Evelyn", "Abigail", "Ella", "Scarlett", "Grace", "Chloe", "Victoria", "Riley", "Aria", "Lily",
        "Aubrey", "Zoey", "Hannah", "Layla", "Nora", "Hazel", "Madison", "Ellie", "Stella", "Penelope",
    ]
    static let maleNames = [
        "Michael", "James", "Alexander", "William", "Ethan", "Daniel", "Liam", "Benjamin", "Lucas", "Henry",
        "Jackson", "Logan", "Mason", "Noah", "Oliver", "Elijah", "Aiden", "Samuel", "Joseph", "David",
        "Carter", "Owen", "Wyatt", "John", "Jack", "Luke", "Jayden", "Dylan", "Gabriel", "Isaac",
    ]
    static let lastNames = [
        "Johnson", "Williams", "Brown", "Davis", "Miller", "Wilson", "Moore", "Taylor", "Anderson", "Thomas",
        "Jackson", "White", "Harris", "Martin", "Thompson", "Garcia", "Martinez", "Robinson", "Clark", "Rodriguez",
        "Lewis", "Lee", "Walker", "Hall", "Allen", "Young", "King", "Wright", "Scott", "Green",
        "Baker", "Adams", "Nelson", "Hill", "Campbell", "Mitchell", "Roberts", "Carter", "Phillips", "Evans",
        "Turner", "Torres", "Parker", "Collins", "Edwards", "Stewart", "Flores", "Morris", "Nguyen", "Murphy",
        "Rivera", "Cook", "Rogers", "Morgan", "Peterson", "Cooper", "Reed", "Bailey", "Bell", "Gomez",
    ]
    static let countryCodes = ["1", "7", "44", "49", "61", "81", "86", "91", "92", "34", "39", "33", "55", "52", "64"]
    static let bloodGroups = ["A+", "A-", "B+", "B-", "AB+", "AB-", "O+", "O-"]
    static let eyeColors = ["Amber", "Blue", "Brown", "Gray", "Green", "Hazel", "Red", "Violet"]
    static let hairColors = ["Black", "Blonde", "Blue", "Brown", "Gray", "Green", "Purple", "Red", "White"]
    static let hairTypes = ["Curly", "Kinky", "Straight", "Wavy"]
    static let cardTypes = ["American Express", "Diners Club International", "Discover", "JCB", "Mastercard", "UnionPay", "Visa"]
    static let currencies = ["AUD", "BRL", "CAD", "CHF", "CNY", "EUR", "GBP", "INR", "JPY", "MXN", "NZD", "PKR", "USD", "ZAR"]
    static let ibanCountries = ["DE", "FR", "GB", "ES", "IT", "NL", "BE", "CH", "AT", "IE"]
    static let streets = [
        "Main Street", "Second Street", "Third Street", "Fourth Street", "Fifth Street", "Sixth Street",
        "Seventh Street", "Eighth Street", "Ninth Street", "Tenth Street", "First Street", "Oak Street",
        "Pine Street", "Maple Street", "Cedar Street", "Elm Street", "Washington Street", "Lincoln Street",
        "Jefferson Street", "Madison Street", "Adams Street",
    ]
    static let cities = [
        "Austin", "Charlotte", "Chicago", "Columbus", "Dallas", "Denver", "Fort Worth", "Houston", "Indianapolis",
        "Jacksonville", "Los Angeles", "New York", "Philadelphia", "Phoenix", "San Antonio", "San Diego",
        "San Francisco", "San Jose", "Seattle", "Washington",
    ]
    static let states: [(String, String)] = [
        ("Alabama", "AL"), ("Alaska", "AK"), ("Arizona", "AZ"), ("Arkansas", "AR"), ("California", "CA"),
        ("Colorado", "CO"), ("Connecticut", "CT"), ("Delaware", "DE"), ("Florida", "FL"), ("Georgia", "GA"),
        ("Hawaii", "HI"), ("Idaho", "ID"), ("Illinois", "IL"), ("Indiana", "IN"), ("Iowa", "IA"),
        ("Kansas", "KS"), ("Kentucky", "KY"), ("Louisiana", "LA"), ("Maine", "ME"), ("Maryland", "MD"),
        ("Massachusetts", "MA"), ("Michigan", "MI"), ("Minnesota", "MN"), ("Mississippi", "MS"), ("Missouri", "MO"),
        ("Montana", "MT"), ("Nebraska", "NE"), ("Nevada", "NV"), ("New Hampshire", "NH"), ("New Jersey", "NJ"),
        ("New Mexico", "NM"), ("New York", "NY"), ("North Carolina", "NC"), ("North Dakota", "ND"), ("Ohio", "OH"),
        ("Oklahoma", "OK"), ("Oregon", "OR"), ("Pennsylvania", "PA"), ("Rhode Island", "RI"), ("South Carolina", "SC"),
        ("South Dakota", "SD"), ("Tennessee", "TN"), ("Texas", "TX"), ("Utah", "UT"), ("Vermont", "VT"),
        ("Virginia", "VA"), ("Washington", "WA"), ("West Virginia", "WV"), ("Wisconsin", "WI"), ("Wyoming", "WY"),
    ]
    static let universities = [
        "Boston College", "Boston University", "Brown University", "California Institute of Technology (Caltech)",
        "Carnegie Mellon University", "Columbia University", "Cornell University", "Dartmouth College",
        "Duke University", "Emory University", "Georgetown University", "Harvard University",
        "Johns Hopkins University", "Massachusetts Institute of Technology (MIT)", "New York University (NYU)",
        "Northeastern University", "Northwestern University", "Ohio State University", "Princeton University",
        "Purdue University", "Rice University", "Stanford University", "University of Wisconsin--Madison",
    ]
    static let titles = [
        "Accountant", "Business Analyst", "Business Development Manager", "Chief Executive Officer",
        "Chief Financial Officer", "Chief Technology Officer", "Data Analyst", "Data Scientist",
        "Database Administrator", "Developer", "Engineer", "Human Resources Manager", "Legal Counsel",
        "Marketing Manager", "Product Manager", "Project Manager", "Quality Assurance Engineer", "Research Analyst",
        "Sales Manager", "Software Architect", "Software Engineer", "Support Specialist", "Systems Analyst",
        "Technical Support Engineer", "Web Developer",
    ]
    static let userAgents = [
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/96.0.4664.93 Safari/537.36",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/97.0.4692.99 Safari/537.36",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/15.3 Safari/605.1.15",
        "Mozilla/5.0 (X11; Linux x86_64; rv:96.0) Gecko/20100101 Firefox/96.0",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 15_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/15.2 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:95.0) Gecko/20100101 Firefox/95.0",
    ]
}
