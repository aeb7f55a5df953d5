import Testing

@testable import ActionsCore

@Suite struct InputsTests {
  let decls = [
    InputDeclaration("source-image", "x", required: true),
    InputDeclaration("dry-run", "x", kind: .boolean, default: "false"),
    InputDeclaration("tags", "x", kind: .list),
    InputDeclaration("mode", "x", kind: .choice(["a", "b"]), default: "a"),
    InputDeclaration("count", "x", kind: .integer),
    InputDeclaration("password", "x", secret: true),
  ]

  @Test func environmentNamesKeepHyphens() {
    #expect(decls[0].environmentName == "INPUT_SOURCE-IMAGE")
    #expect(decls[0].underscoreEnvironmentName == "INPUT_SOURCE_IMAGE")
    #expect(InputDeclaration("my input", "x").environmentName == "INPUT_MY_INPUT")
  }

  @Test func readsHyphenatedThenUnderscoreSpellingsTrimmed() throws {
    let a = try Inputs(declarations: decls, environment: ActionEnvironment(["INPUT_SOURCE-IMAGE": "  ghcr.io/a/b:1 \n"]))
    #expect(a.string("source-image") == "ghcr.io/a/b:1")
    let b = try Inputs(declarations: decls, environment: ActionEnvironment(["INPUT_SOURCE_IMAGE": "x"]))
    #expect(b.string("source-image") == "x")
  }

  @Test func flagsWinOverTheEnvironment() throws {
    let i = try Inputs(declarations: decls, environment: ActionEnvironment(["INPUT_SOURCE-IMAGE": "env"]), flags: ["source-image": "flag"])
    #expect(i.string("source-image") == "flag")
  }

  @Test func requiredIsEnforcedAndNamed() {
    #expect(throws: InputError("source-image", "required; set `source-image:` in the step's `with:` or pass --source-image")) {
      _ = try Inputs(declarations: decls, environment: ActionEnvironment(["INPUT_SOURCE-IMAGE": "   "]))
    }
  }

  @Test(arguments: ["true", "True", "TRUE"]) func trueSpellings(_ v: String) throws {
    #expect(try inputs(["INPUT_DRY-RUN": v]).bool("dry-run"))
  }

  @Test(arguments: ["false", "False", "FALSE"]) func falseSpellings(_ v: String) throws {
    #expect(try !inputs(["INPUT_DRY-RUN": v]).bool("dry-run"))
  }

  @Test(arguments: ["yes", "1", "tRUE", "on"]) func otherBooleansAreRefused(_ v: String) throws {
    #expect(throws: InputError.self) { try inputs(["INPUT_DRY-RUN": v]).bool("dry-run") }
  }

  @Test func defaultsApplyWhenEmpty() throws {
    let i = try inputs([:])
    #expect(try i.bool("dry-run") == false)
    #expect(try i.choice("mode") == "a")
    #expect(i.string("count") == nil)
  }

  @Test func listsParseLikeGetMultilineInput() throws {
    let i = try inputs(["INPUT_TAGS": "\n  a \n\n b,c \r\n d\n"])
    #expect(i.list("tags") == ["a", "b", "c", "d"])
    #expect(i.list("tags", commas: false) == ["a", "b,c", "d"])
  }

  @Test func choicesAndIntegersAreChecked() throws {
    #expect(throws: InputError("mode", "expected one of a, b, got 'c'")) { try inputs(["INPUT_MODE": "c"]).choice("mode") }
    #expect(try inputs(["INPUT_COUNT": "4"]).integer("count", in: 1...8) == 4)
    #expect(throws: InputError.self) { try inputs(["INPUT_COUNT": "9"]).integer("count", in: 1...8) }
    #expect(throws: InputError.self) { try inputs(["INPUT_COUNT": "x"]).integer("count") }
  }

  @Test func secretValuesAreListed() throws {
    #expect(try inputs(["INPUT_PASSWORD": "hunter2"]).secretValues == ["hunter2"])
  }

  func inputs(_ env: [String: String]) throws -> Inputs {
    var e = env
    e["INPUT_SOURCE-IMAGE"] = e["INPUT_SOURCE-IMAGE"] ?? "img"
    return try Inputs(declarations: decls, environment: ActionEnvironment(e))
  }
}
