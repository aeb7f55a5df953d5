import Basics
import Foundation
import GitHub
import HTTP
import Health
import OCI
import Sigstore
import Stages
import Versioning

/// libFuzzer targets, one per parser that hostile bytes reach: registry answers (manifests,
/// challenges, links, records, tag listings), repository contents (versions, commit messages,
/// release manifests, pack indexes), GitHub API answers, Sigstore documents and inputs.
///
/// Each target parses the bytes and checks the parser's own promises (a parsed value prints
/// back to itself); a broken promise traps, which is what a fuzzer reports. They run three
/// ways: `scripts/fuzz` (coverage-guided, under AddressSanitizer), the `gantry-fuzz`
/// replayer (`gantry-fuzz <target> <files…>`), and the test suite, which replays the committed
/// seed corpus in `Tests/Fuzz/corpus/<target>/`.
public enum FuzzTargets {
  public typealias Target = @Sendable (Data) -> Void

  /// Every target by name (the corpus folder names).
  public static let all: [String: Target] = [
    "reference": reference,
    "digest": digest,
    "semver": semver,
    "conventional-commit": conventionalCommit,
    "version-manifest": versionManifest,
    "www-authenticate": wwwAuthenticate,
    "link": link,
    "retry-after": retryAfter,
    "rate-limit": rateLimit,
    "manifest": manifest,
    "json": json,
    "promotion-record": promotionRecord,
    "status-set": statusSet,
    "sizes": sizes,
    "sigstore-bundle": sigstoreBundle,
    "rfc3161-timestamp": rfc3161Timestamp,
    "ca-file": caFile,
    "release-manifest": releaseManifest,
    "pack-index": packIndex,
    "github-answers": githubAnswers,
    "trusted-root": trustedRoot,
    "record-names": recordNames,
  ]

  static func text(_ data: Data) -> String { String(decoding: data, as: UTF8.self) }

  /// A promise the parser made and broke: trap so the fuzzer keeps the input.
  static func expect(_ condition: Bool, _ what: @autoclosure () -> String) {
    if !condition { fatalError("fuzz invariant broken: \(what())") }
  }

  static let reference: Target = { data in
    guard let r = try? Reference(parsing: text(data)) else { return }
    let again = try? Reference(parsing: r.description)
    expect(again == r, "reference \(r) does not parse back to itself")
    _ = r.apiHost
    _ = r.identifier
  }

  /// The `ca-file` input's PEM check: any bytes, no trap; a file it passes stays passed
  /// with text added between blocks (OpenSSL skips such text).
  static let caFile: Target = { data in
    guard CABundle.brokenBlock(in: Array(data)) == nil else { return }
    expect(CABundle.brokenBlock(in: Array("junk\n".utf8) + Array(data) + Array("\njunk\n".utf8)) == nil, "text around a passed bundle broke it")
  }

  static let digest: Target = { data in
    guard let d = try? Digest(parsing: text(data)) else { return }
    expect((try? Digest(parsing: d.description)) == d, "digest \(d) does not parse back")
  }

  static let semver: Target = { data in
    let s = text(data)
    guard let v = SemVer.parse(s, prefix: "v") ?? SemVer.parse(s) else { return }
    expect(SemVer.parse(v.description) == v, "semver \(v) does not parse back")
    for bump in Bump.allCases { _ = try? bump.apply(to: v) }
    _ = v < SemVer(1, 0, 0)
  }

  static let conventionalCommit: Target = { data in
    let c = ConventionalCommit(sha: "0000000", message: text(data))
    _ = c.bump
    _ = Changelog.markdown([c]) { $0 }
  }

  /// A pull request's manifest file, read as each known kind (the first line names which,
  /// the rest is the file): no trap, no crash in toml++, and a version from a line-based
  /// format is one line.
  static let versionManifest: Target = { data in
    let newline = data.firstIndex(of: 0x0A) ?? data.endIndex
    let named = text(data[..<newline])
    let body = Data(data[min(data.endIndex, newline + 1)...])
    let names = ManifestFiles.known.contains(named) ? [named] : ManifestFiles.known
    for name in names {
      guard let v = try? ManifestFiles.version(in: body, named: name) else { continue }
      if ["Chart.yaml", "gradle.properties"].contains(name) { expect(!v.contains("\n") && !v.contains("\r"), "\(name) gave a version of several lines") }
      _ = try? SemVer(parsing: v, prefix: "v")
    }
  }

  static let wwwAuthenticate: Target = { data in
    guard let c = AuthChallenge.parse(text(data)) else { return }
    _ = c.realm
    _ = c.service
  }

  static let link: Target = { data in
    _ = LinkHeader.next(text(data))
  }

  static let retryAfter: Target = { data in
    if let d = RetryPolicy.parseRetryAfter(text(data), now: Date(timeIntervalSince1970: 1_800_000_000)) {
      expect(d >= .zero, "Retry-After gave a negative wait \(d)")
    }
  }

  /// Header lines (`Name: value`) as a registry might send them; the budget parsed stays in
  /// its bounds, and the owner of budgets learns from it without trapping.
  static let rateLimit: Target = { data in
    var headers = Headers()
    for line in text(data).split(separator: "\n").prefix(64) {
      guard let colon = line.firstIndex(of: ":") else { continue }
      headers.add(String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
    }
    if let r = RateLimitHeaders.parse(headers) {
      expect(r.limit != nil || r.remaining != nil, "a budget without limit or remaining")
      for n in [r.limit, r.remaining].compactMap({ $0 }) { expect((0...RateLimitHeaders.maxCount).contains(n), "count \(n) out of bounds") }
      for n in [r.window, r.reset].compactMap({ $0 }) { expect((0...RateLimitHeaders.maxSeconds).contains(n), "seconds \(n) out of bounds") }
      if let l = r.limit, let rem = r.remaining { expect(rem <= l, "remaining \(rem) above limit \(l)") }
    }
    let url = URL(string: "https://registry.example/v2/app/manifests/1")!
    let limits = RateLimits()
    for status in [200, 429, 503] { limits.observe(Response(status: status, headers: headers, url: url), for: Request(url: url)) }
    _ = limits.snapshot().map(\.description)
  }

  static let manifest: Target = { data in
    for type in [nil, MediaType.ociManifest, MediaType.ociIndex, MediaType.dockerManifest, MediaType.dockerList] {
      guard let m = try? RawManifest(bytes: data, mediaType: type) else { continue }
      expect(m.digest == Digest.sha256(data), "manifest digest is not the digest of its bytes")
      _ = m.descriptor
    }
  }

  /// Gantry's JSON reader: whatever it accepts prints (JSONEncoder) and reads back to the
  /// same value (numbers compared by value: `5e15` prints as `5000000000000000`, which reads
  /// back as an integer).
  static let json: Target = { data in
    guard let v = try? JSONValue.parse(bytes: data) else { return }
    guard let bytes = try? v.serialized() else { return expect(false, "a parsed value does not print") }
    guard let again = try? JSONValue.parse(bytes: bytes) else { return expect(false, "a printed value does not parse") }
    expect(same(again, v), "a printed value does not read back")
  }

  static func same(_ a: JSONValue, _ b: JSONValue) -> Bool {
    switch (a, b) {
    case (.int(let x), .double(let y)), (.double(let y), .int(let x)): return Double(x) == y
    case (.array(let x), .array(let y)): return x.count == y.count && zip(x, y).allSatisfy { same($0, $1) }
    case (.object(let x), .object(let y)): return x.count == y.count && x.allSatisfy { k, v in y[k].map { same(v, $0) } ?? false }
    default: return a == b
    }
  }

  static let promotionRecord: Target = { data in
    guard let r = try? PromotionRecord.decode(data), let bytes = try? r.encoded() else { return }
    expect((try? PromotionRecord.decode(bytes)) != nil, "an encoded record does not decode")
  }

  static let statusSet: Target = { data in
    guard let s = try? StatusSet(parsing: text(data)) else { return }
    _ = s.description
  }
}

extension FuzzTargets {
  /// Durations and sizes: an accepted value lies within the documented range.
  static let sizes: Target = { data in
    let t = text(data)
    if let d = try? DurationInput.parse(t, input: "interval", max: .seconds(3600)) {
      expect(d >= .zero && d <= .seconds(3600), "duration \(t.debugDescription) → \(d) is out of range")
    }
    if let n = try? ByteSize.parse(t, input: "max-size") {
      expect(n >= 0 && n <= ByteSize.maximum, "size \(t.debugDescription) → \(n) is out of range")
    }
  }

  /// `path` itself when it is a file, else the files directly in that folder, sorted.
  public static func files(at path: String) -> [String] {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return [] }
    guard isDirectory.boolValue else { return [path] }
    let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
    return names.sorted().map { "\(path)/\($0)" }
  }
}

extension FuzzTargets {
  /// A Sigstore bundle as a registry or a file hands it over: parsed (every version's shape
  /// rules and caps), then every part the verifier reads before any signature check — the
  /// certificate's identity and SCTs, the inclusion proof's path and checkpoint, the in-toto
  /// statement and its SLSA predicate.
  static let sigstoreBundle: Target = { data in
    guard let b = try? SigstoreBundle(json: data) else { return }
    expect(b.tlogEntries.count <= SigstoreBundle.maxEntries, "bundle kept more log entries than its cap")
    if let leaf = b.leaf {
      _ = try? FulcioIdentity(leaf)
      _ = try? SignedCertificateTimestamp.embedded(in: leaf)
    }
    for e in b.tlogEntries {
      _ = e.signedEntryTimestampPayload
      if let p = e.inclusionProof {
        _ = try? p.computedRoot(leaf: InclusionProof.leafHash(e.canonicalizedBody))
        if let c = p.checkpoint { _ = try? Checkpoint(c) }
      }
    }
    if case .dsse(let env) = b.content, let s = try? InTotoStatement(payloadType: env.payloadType, payload: env.payload) {
      expect(s.subjects.count <= InTotoStatement.maxSubjects, "statement kept more subjects than its cap")
      _ = try? Provenance(predicateType: s.predicateType, predicate: s.predicate)
    }
  }

  /// An RFC 3161 timestamp (TimeStampResp or bare token DER) as a bundle carries it: parsed
  /// within its caps, then what the verifier reads before the signature check (the signer
  /// match, the imprint and signed-attribute digests).
  static let rfc3161Timestamp: Target = { data in
    guard let t = try? RFC3161Timestamp(der: data) else { return }
    expect(data.count <= RFC3161Timestamp.maxSize, "timestamp over its size cap parsed")
    expect(t.certificates.count <= RFC3161Timestamp.maxCertificates, "timestamp kept more certificates than its cap")
    expect(t.hashedMessage.count == t.imprintAlgorithm.hash(Data()).count, "imprint of the wrong size parsed")
    expect(t.signedAttributes.first == 0x31, "signed attributes are not re-tagged as SET OF")
    for c in t.certificates { _ = t.matches(c) }
    _ = t.digestAlgorithm.hash(t.encapsulatedContent) == t.messageDigest
  }
}

extension FuzzTargets {
  /// Whether an error a hostile file or input caused prints as one short line: its text ends up
  /// in one `::error::` line, which must not carry a megabyte of the file.
  static func shortLine(_ error: any Error, _ what: String) {
    let text = "\(error)"
    expect(text.utf8.count <= maxErrorBytes, "\(what): an error of \(text.utf8.count) bytes: \(text.prefix(300))…")
    expect(!text.contains("\n") && !text.contains("\r"), "\(what): an error of several lines: \(text.prefix(300).debugDescription)")
  }

  /// The longest error a hostile input may cause: a reason, a field's clipped name and the
  /// accepted fields of an image.
  static let maxErrorBytes = 1536

  /// A release manifest (`manifest`: a file a pull request can change) as YAML or JSON, and
  /// the same bytes as `promote-images` lines: no trap, errors are one short line, what is
  /// accepted keeps the caps, and the images print back (as JSON and as YAML) to themselves.
  /// The first accepted images then go through the step's inputs as a release run settles
  /// them (overrides, gates, references).
  static let releaseManifest: Target = { data in
    let bytes = Array(data)
    do {
      let images = try ReleaseInputsProbe.manifest(bytes)
      checkImages(images, "manifest")
      let json = releaseJSON(images)
      do { expect(try ReleaseInputsProbe.manifest(json) == images, "manifest does not read back from JSON: \(text(Data(json)).prefix(500))") } catch {
        expect(false, "manifest printed as JSON does not read: \(error) in \(text(Data(json)).prefix(500))")
      }
      if let yaml = releaseYAML(images) {
        do { expect(try ReleaseInputsProbe.manifest(yaml) == images, "manifest does not read back from YAML: \(text(Data(yaml)).prefix(500).debugDescription)") } catch {
          expect(false, "manifest printed as YAML does not read: \(error) in \(text(Data(yaml)).prefix(500).debugDescription)")
        }
      }
      if images.count <= 8 {
        do { _ = try ReleaseInputsProbe.settings(bytes, variables: ["INPUT_STAGE": "promote"]) } catch { shortLine(error, "release settings") }
      }
    } catch {
      shortLine(error, "manifest")
    }
    let lines = text(data).split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
    do { checkImages(try ReleaseInputsProbe.list(lines), "promote-images") } catch { shortLine(error, "promote-images") }
    do { _ = try ReleaseInputsProbe.pins(text(data)) } catch { shortLine(error, "release-digests") }
    do {
      let (i, n) = try ReleaseInputsProbe.shard(text(data))
      expect(1 <= i && i <= n && n <= 256, "shard \(i)/\(n) out of range")
    } catch { shortLine(error, "shard") }
  }

  static func checkImages(_ images: [ReleaseInputsProbe.Image], _ what: String) {
    expect(!images.isEmpty && images.count <= ReleaseInputsProbe.maxImages, "\(what): \(images.count) images")
    func oneLine(_ s: Substring) -> Bool { !s.unicodeScalars.contains { ($0.value < 0x20 && $0 != "\t") || (0x7F...0x9F).contains($0.value) || $0 == "\u{2028}" || $0 == "\u{2029}" } }
    for image in images {
      expect(!image.source.isEmpty && !image.target.isEmpty, "\(what): an image without source or target")
      expect(image.tags.count <= ReleaseInputsProbe.maxTags, "\(what): \(image.tags.count) tags")
      for value in [image.source, image.target] + image.tags {
        expect(value.utf8.count <= ReleaseInputsProbe.maxString && oneLine(value[...]), "\(what): a value of \(value.utf8.count) bytes or several lines")
      }
      // A list an image overrides an input with is its items a line each.
      for (name, value) in image.overrides where name != "cosign-public-key" {
        expect(value.split(separator: "\n", omittingEmptySubsequences: false).allSatisfy { $0.utf8.count <= ReleaseInputsProbe.maxString && oneLine($0) }, "\(what): \(name) holds a line break")
      }
    }
  }

  /// The images as the JSON form of a manifest.
  static func releaseJSON(_ images: [ReleaseInputsProbe.Image]) -> [UInt8] {
    let list: [JSONValue] = images.map { image in
      var o: [String: JSONValue] = ["source": .string(image.source), "target": .string(image.target)]
      if !image.tags.isEmpty { o["tags"] = .array(image.tags.map { .string($0) }) }
      for (k, v) in image.overrides {
        o[k] = v.contains("\n") ? .array(v.split(separator: "\n", omittingEmptySubsequences: false).map { .string(String($0)) }) : .string(v)
      }
      return .object(o)
    }
    return Array((try? JSONValue.object(["images": .array(list)]).serialized()) ?? Data())
  }

  /// The images as the YAML form (double-quoted values, tags as a flow list, a multi-line
  /// override as a block list); nil when a value holds what the subset's quotes cannot say.
  static func releaseYAML(_ images: [ReleaseInputsProbe.Image]) -> [UInt8]? {
    func quoted(_ s: Substring) -> String? {
      var out = "\""
      for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        default:
          if u.value < 0x20 || u.value == 0x7F { return nil }
          out.unicodeScalars.append(u)
        }
      }
      return out + "\""
    }
    var out = "images:\n"
    for image in images {
      guard let source = quoted(image.source[...]), let target = quoted(image.target[...]) else { return nil }
      out += "  - source: \(source)\n    target: \(target)\n"
      if !image.tags.isEmpty {
        let tags = image.tags.compactMap { quoted($0[...]) }
        guard tags.count == image.tags.count else { return nil }
        out += "    tags: [\(tags.joined(separator: ", "))]\n"
      }
      for (k, v) in image.overrides.sorted(by: { $0.key < $1.key }) {
        if v.contains("\n") {
          out += "    \(k):\n"
          for part in v.split(separator: "\n", omittingEmptySubsequences: false) {
            guard let q = quoted(part) else { return nil }
            out += "      - \(q)\n"
          }
        } else {
          guard let q = quoted(v[...]) else { return nil }
          out += "    \(k): \(q)\n"
        }
      }
    }
    return Array(out.utf8)
  }
}

extension FuzzTargets {
  /// A hostile checkout's pack index (`objects/pack/*.idx`) and multi-pack index, as the
  /// check before libgit2 reads them: no trap, and an index it passes holds the objects its
  /// fan-out table claims (libgit2's lookups stay within the file). Each file is checked at
  /// its own size and as the start of a sparse file a thousand times larger.
  static let packIndex: Target = { data in
    let bytes = Array(data)
    for size in [Int64(bytes.count), Int64(bytes.count) * 1000 + 7] {
      let head = Array(bytes.prefix(8 + 1024))
      if (try? PackIndexCheck.checkIndex(head: head, size: size, name: "pack-fuzz.idx")) != nil {
        expect(head.count == 8 + 1024, "an index of \(head.count) bytes passed")
        let v2 = head.starts(with: [0xff, 0x74, 0x4f, 0x63])
        let at = v2 ? 8 + 255 * 4 : 255 * 4
        let count = head[at..<(at + 4)].reduce(Int64(0)) { $0 << 8 | Int64($1) }
        let version = head[4..<8].reduce(0) { $0 << 8 | Int($1) }
        if !v2 || version == 2 {
          expect(size >= (v2 ? 8 + 1024 + count * 28 + 40 : 1024 + count * 24 + 40), "an index of \(size) bytes passed with \(count) objects")
        }
      }
      // The bytes past `data` read as zeros (a sparse file).
      _ = try? PackIndexCheck.checkMultiPackIndex(size: size) { offset, count in
        guard offset >= 0, count > 0, offset < size else { return [] }
        let want = Int(min(Int64(count), size - offset))
        return (0..<want).map { k in offset + Int64(k) < Int64(bytes.count) ? bytes[Int(offset) + k] : 0 }
      }
    }
  }

  /// GitHub API answers decoded into Gantry's types (a proxy, an Enterprise server or a
  /// tampered answer can say anything): a deployment listing with its payloads, one
  /// deployment, a release, tags and commits. No trap; a payload fitted keeps its images' order
  /// and at most as many.
  static let githubAnswers: Target = { data in
    let decoder = JSONDecoder()
    var payloads: [DeploymentPayload] = []
    if let list = try? decoder.decode([GitHubDeployment].self, from: data) { payloads += list.compactMap(\.payload) }
    if let one = try? decoder.decode(GitHubDeployment.self, from: data), let p = one.payload { payloads.append(p) }
    if let p = try? decoder.decode(DeploymentPayload.self, from: data) { payloads.append(p) }
    _ = try? decoder.decode(GitHubRepository.Release.self, from: data)
    _ = try? decoder.decode([GitHubTag].self, from: data)
    _ = try? decoder.decode([GitHubCommit].self, from: data)
    for p in payloads.prefix(4) {
      for max in [0, 200, DeploymentPayload.maxBytes] {
        let (fitted, _) = p.bounded(maxBytes: max)
        expect(fitted.images.count <= p.images.count, "a fitted payload gained images")
        expect(zip(fitted.images, p.images).allSatisfy { $0.image == $1.image && $0.digest == $1.digest }, "a fitted payload reordered its images")
      }
      _ = p.deploysSameImages(as: p)
    }
  }
}

extension FuzzTargets {
  /// A Sigstore trusted root (the `trusted-root` input: a file the workflow or, when the step
  /// sets no policy, a release manifest names): parsed within its caps, errors one short line.
  static let trustedRoot: Target = { data in
    do {
      let root = try TrustedRoot(json: data, name: "fuzz.json")
      for n in [root.tlogs.count, root.ctlogs.count, root.certificateAuthorities.count, root.timestampAuthorities.count] { expect(n <= 64, "a root kept \(n) entries of a kind") }
      expect(!root.certificateAuthorities.isEmpty || !root.tlogs.isEmpty, "a root with no authority and no log parsed")
      for s in root.skippedLogs { expect(s.utf8.count <= maxErrorBytes, "a skipped log named in \(s.utf8.count) bytes") }
      for log in root.tlogs { _ = root.tlog(log.logID) }
    } catch {
      shortLine(error, "trusted root")
    }
  }

  /// A registry's tag listing (one name a line; the first byte picks the page size) as the
  /// history reads it: record tags taken apart, and an environment's names handed out newest
  /// first a page at a time, each distinct name once.
  static let recordNames: Target = { data in
    let names = text(data).split(separator: "\n", omittingEmptySubsequences: false).prefix(2000).map(String.init)
    for name in names {
      guard let tag = RecordTag(name) else { continue }
      expect(name == "gantry-" + tag.key + String(name.suffix(30)), "record tag \(name.debugDescription) does not take apart")
    }
    let page = Int(data.first ?? 3) % 17 + 1
    var reader = RecordNames(names)
    var paged: [[String]] = []
    while reader.hasMore {
      expect(paged.count <= names.count, "names handed out for ever")
      paged.append(reader.next(page))
    }
    expect(paged.allSatisfy { $0.count <= page }, "a page larger than \(page)")
    // Newest first is by bytes (the time is fixed-width ASCII in a record tag).
    let all = paged.flatMap { $0 }.map { Array($0.utf8) }
    let expected = Array(Set(names.map { Array($0.utf8) })).sorted { $1.lexicographicallyPrecedes($0) }
    expect(all == expected, "pages \(paged.flatMap { $0 }.map(\.debugDescription)) are not every distinct name newest first")
  }
}
