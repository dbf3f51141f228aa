import Testing

@testable import WPKCore

/// The hand-written fast paths agree with the plain definitions they replace.
@Suite struct FastPathTests {
    /// RFC 6901 tokens: `~1` is `/`, `~0` is `~`, and `~01` is `~1` (unescaped in one pass).
    static let pointerCases: [(pointer: String, tokens: [String])] = [
        ("", []),
        ("/", [""]),
        ("/spec/handlers/0", ["spec", "handlers", "0"]),
        ("/a~1b", ["a/b"]),
        ("/m~0n", ["m~n"]),
        ("/~01", ["~1"]),
        ("/~10", ["/0"]),
        ("/~~11", ["~/1"]),
        ("/a~", ["a~"]),
        ("/~2x", ["~2x"]),
        ("/é~1ü//x", ["é/ü", "", "x"]),
    ]

    @Test func pointerTokensUnescapeAsRFC6901Says() {
        for c in Self.pointerCases {
            #expect(JSONPointer.tokens(c.pointer) == c.tokens, "\(c.pointer)")
        }
    }

    @Test func escapingThenSplittingGivesTheTokensBack() {
        let tokens = ["plain", "a/b", "m~n", "~1", "~0/~", "", "é/ü", "0"]
        for token in tokens {
            let pointer = JSONPointer.appending("", token)
            #expect(JSONPointer.tokens(pointer) == [token], "\(pointer)")
        }
        #expect(JSONPointer.escape("a/b~c") == "a~1b~0c")
        #expect(JSONPointer.escape("plain") == "plain")
    }

    /// The template check's fast path says "all known" only when the full reading finds no
    /// problem, and says it for the usual shapes (so it is the path actually taken).
    @Test func knownTemplateFastPathNeverHidesAProblem() {
        let declared: Set<String> = ["replicas", "namespace", "dry-run", "x_1"]
        let usual = [
            "${{ inputs.replicas }}", "kubectl -n ${{inputs.namespace}} get", "${{ run.id }}/${{ inputs.x_1 }}",
            "a ${{\tinputs.dry-run }} b", "no template at all $ {{ x }}",
        ]
        for text in usual { #expect(Templates.namesOnlyKnownValues(text, declared: declared), "\(text)") }
        // Texts of fillers and templates whose expressions are right, wrong or odd.
        let fillers = ["", " ", "kubectl get ", "$", "{", "}}", "é", "${", "{{"]
        let expressions = [
            "inputs.replicas", "inputs.nope", "inputs.", "run.id", "run.idx", "run.other", "inputs.replicas.extra",
            "inputs.dry-run", "!inputs.x_1", "inputs.namespace == 'prod'", "", "replicas", "inputs.é", "inputs.x_1",
        ]
        let spaces = ["", " ", "\t", "\n"]
        var generator = SystemRandomNumberGenerator()
        var fastPathTaken = 0
        for _ in 0..<20_000 {
            let text = (0..<Int.random(in: 1...5, using: &generator)).map { _ -> String in
                if Bool.random(using: &generator) { return fillers.randomElement(using: &generator)! }
                let closing = Int.random(in: 0..<10, using: &generator) == 0 ? "" : "}}"
                return "${{" + spaces.randomElement(using: &generator)! + expressions.randomElement(using: &generator)!
                    + spaces.randomElement(using: &generator)! + closing
            }.joined()
            guard Templates.namesOnlyKnownValues(text, declared: declared) else { continue }
            fastPathTaken += 1
            let problems = Templates.references(in: text).compactMap { TemplateRules.problem($0, declared: declared) }
            #expect(problems.isEmpty, "fast path passed \(text.debugDescription) but the full reading finds \(problems)")
        }
        #expect(fastPathTaken > 1_000)
    }

    /// The name set answers as a Set does, below and past the size where it starts hashing.
    @Test(arguments: [0, 1, 16, 17, 500])
    func nameSetAgreesWithASet(count: Int) {
        var names = NameSet()
        var reference: Set<String> = []
        for i in 0..<count * 2 {
            let name = "perm-\(i % max(count, 1))"  // every name twice
            #expect(names.insert(name) == reference.insert(name).inserted, "\(name)")
        }
        for i in 0..<count + 5 { #expect(names.contains("perm-\(i)") == reference.contains("perm-\(i)")) }
        #expect(NameSet(["a", "b", "a"]).contains("b") && !NameSet(["a"]).contains("c"))
    }

    @Test func credentialMarkerScanAgreesWithASubstringSearch() {
        let texts = [
            "", "nothing here", "hhhh gggg xxxx ----", "AKI", "xAKIAy", "-----BEGIN", "----BEGIN",
            "ghp", "ghp_", "a github_pat_b", "xoxb", "xoxa-", "hvs", "hvb.", "glpat", "glpat-", "é hvs.ü",
        ]
        for text in texts {
            let expected = SecretRules.credentialMarkers.contains { text.contains($0) }
            #expect(SecretRules.holdsCredentialMarker(text) == expected, "\(text)")
        }
        // Every marker is found wherever it sits (a marker added later must start with a pair
        // the scan knows).
        for marker in SecretRules.credentialMarkers {
            for text in [marker, "x " + marker, "é" + marker + "y", String(marker.dropLast())] {
                #expect(SecretRules.holdsCredentialMarker(text) == text.contains(marker), "\(text)")
            }
        }
    }

    @Test func byteSearchFindsNeedlesAnywhere() {
        #expect("${{ inputs.x }}".containsBytes("${{"))
        #expect("ab${{".containsBytes("${{"))
        #expect(!"ab${".containsBytes("${{"))
        #expect("".containsBytes(""))
        #expect(!"".containsBytes("a"))
        #expect("éa".containsBytes("a"))
    }
}

/// The byte-wise reading of template names agrees with the character-wise one on ASCII text.
@Suite struct DottedNameFastPathTests {
    @Test func asciiAndCharacterReadingsAgree() {
        let alphabet = Array("ab.Z_-09 '\"=!\r\n\t${}()x.y")
        var generator = SystemRandomNumberGenerator()
        var samples = ["inputs.a", "inputs.a == 'x.y'", "!run.id", "\"q.r\" inputs.b-c", "1a.b", "_a.b", "a.", ".a", "a\r\nb.c"]
        for _ in 0..<3_000 {
            let length = Int.random(in: 0...24, using: &generator)
            samples.append(String((0..<length).map { _ in alphabet.randomElement(using: &generator)! }))
        }
        for text in samples {
            #expect(Templates.asciiDottedNames(in: text) == Templates.characterDottedNames(in: text), "\(text.debugDescription)")
        }
        #expect(Templates.dottedNames(in: "inputs.é.x") == ["inputs.é.x"], "non-ASCII text takes the character path")
    }
}
