import ActionsCore
import Basics
import FoundationEssentials
import HTTP
import OCI

/// One image resolved and validated against its target: everything `promote` decides before it
/// copies a byte. A single promotion and a release (``Release``) both build one per image, so
/// every gate (blobs, configs, labels, size, platforms, signatures, attestations, provenance,
/// quarantine, no-clobber) is the same code whether one image moves or fifty.
struct ImagePlan: Sendable {
  let settings: PromoteSettings
  let src: RegistryClient
  let dst: RegistryClient
  /// The target repository (no tag).
  let target: Reference
  let root: RawManifest
  let graph: ImageGraph
  /// What each target tag pointed at when the plan was made (absent: the tag did not exist).
  let current: [String: Digest]
  /// What the environment tag pointed at (the digest recorded as the previous one).
  let previous: Digest?
  /// The target has the image's manifest (so every blob) already.
  let alreadyThere: Bool
  /// The image's blobs the target has, asked while the source was validated (nil: not asked,
  /// e.g. the image is there already or its blobs are mounted).
  let blobsAtTarget: Set<Digest>?
  let attachments: [Attachment]
  /// The small configs validation read, verified: the copy uploads them from memory.
  let configs: [Digest: Data]
  let history: History?
  var summary: PromoteSummary
  let signatureStatus: String
  let provenanceStatus: String

  var checks: [Check] { summary.checks }
  /// The failed checks, in checklist order (empty: the image may be promoted).
  var failures: [Check] { summary.checks.filter { !$0.passed } }

  /// Resolves `settings.source`, reads the target's tags and history, and runs every gate.
  /// Reads only: nothing is written to either registry. `copies`: this run copies the image
  /// after (so the target's blobs are asked for meanwhile).
  /// `limits`: what the source may make Gantry hold for this image (a release shares one
  /// total among its images).
  static func make(
    _ settings: PromoteSettings, src: RegistryClient, dst: RegistryClient, context: StageContext, copies: Bool = true, limits: ImageGraph.Limits = ImageGraph.Limits()
  ) async throws -> ImagePlan {
    let log = context.log
    let (source, targetRef, tags, environment) = (settings.source, settings.target, settings.tags, settings.environment)
    let target = targetRef.with(tag: nil)
    let history = environment.map { environmentHistory(client: dst, repository: targetRef.repository, environment: $0, context: context, readOnly: settings.dryRun) }
    // What every target tag points at now, read while the source is: tags already at the
    // image are not put again, no-clobber reads them, and the environment tag's digest is
    // recorded as the previous one (and re-read just before it moves, to catch a concurrent
    // promotion).
    async let tagLookup: [Digest?] = boundedMap(tags, concurrency: 8) { try await dst.resolve(targetRef.repository, $0)?.digest }
    // The source's tags, listed while its manifest is read: the cosign and referrers tags of
    // the image are then looked up only if they exist (one request instead of four per manifest).
    async let sourceTags: Set<String>? = settings.wantsAttachments ? src.allTagsInOnePage(source.repository) : nil
    // The newest records: the quarantine check asks the registry about the image itself, and
    // these cover records of earlier Gantry versions that no index lists.
    async let historyLookup = history.asyncMap { try await $0.entries(limit: 20) }

    // 1. Resolve.
    context.doing("reading the manifest of \(source)")
    let root = try await src.manifest(source.repository, source.identifier)
    log.info("source \(source) → \(root.digest)")
    async let graphLoad = ImageGraph.load(from: src, repository: source.repository, root: root, limits: limits)
    var current: [String: Digest] = [:]
    for (tag, digest) in zip(tags, try await tagLookup) { current[tag] = digest }
    let previous = environment.flatMap { current[$0] }
    // When the target has the image's manifest it has every blob the manifest names
    // (registries refuse a manifest whose blobs are missing): the source's blobs need no check,
    // and a source that lost some since can still be promoted to a new tag. A target tag at the
    // image already says so; else it is asked by digest, while the platform manifests load.
    context.doing("reading the image's platform manifests and the target's tags")
    var alreadyThere = current.values.contains(root.digest)
    if !alreadyThere { alreadyThere = try await dst.resolve(targetRef.repository, root.digest.description)?.digest == root.digest }
    let graph = try await graphLoad

    context.doing("validating the image; nothing was copied and no tag moved")
    // 2. Validate. The checks, the attached artifacts and the target's history are independent
    // reads: on a far registry, doing them at once saves whole round trips.
    let validator = Validator(
      client: src, repository: source.repository, maxSize: settings.maxSize, requiredLabels: settings.requiredLabels, platforms: settings.platforms, blobsAtTarget: alreadyThere)
    async let validation = validator.validate(graph)
    // The target's blobs, asked meanwhile (reads only): the copy then starts with its uploads.
    let presence = copier(settings, src: src, dst: dst, options: settings.copy)
    // Configs are not asked for: validation reads them, and the copy uploads them from memory.
    async let blobsAtTarget: Set<Digest>? = alreadyThere || !copies || settings.dryRun || presence.mounts ? nil : presence.blobsPresent(graph, skipping: graph.configDigests)
    // Signatures, attestations, SBOMs and referrers of the image and of each platform manifest.
    let listedTags = await sourceTags
    async let attachmentLookup =
      settings.wantsAttachments
      ? AttachmentFinder(client: src, repository: source.repository).find(for: [root.digest] + graph.children.map(\.digest), tags: listedTags, limits: limits) : []
    let outcome = try await validation
    // Configs held for the copy count against a release's shared total; past it the copy
    // reads them from the source again.
    var configs = outcome.configs
    if let tally = limits.tally, !tally.reserve(configs.values.reduce(0) { $0 + $1.count }, within: limits.bytes) { configs = [:] }
    var (checks, platformInfo) = (outcome.checks, outcome.platforms)
    let present = try await blobsAtTarget
    let attachments = try await attachmentLookup
    let keyless = settings.supplyChain.keyless
    let bundles = try await keyless?.attestations(of: root.digest, attachments: attachments, client: src, repository: source.repository) ?? []
    let gate = SignatureGate(client: src, repository: source.repository, verifier: SignatureVerifier(keys: settings.keys), required: settings.requireSignature, keyless: keyless)
    let (signatures, signatureCheck) = try await gate.evaluate(root.digest, attachments: attachments, bundles: bundles)
    if let signatureCheck { checks.append(signatureCheck) }
    checks += AttestationGate(settings: settings.supplyChain).checks(bundles)
    checks = AttestationGate.apply(settings.supplyChain.mode, to: checks, log: log)
    let provenanceStatus = !settings.supplyChain.requireProvenance ? "unchecked" : checks.contains { $0.name == "provenance" && $0.passed && !$0.detail.hasPrefix("audit") } ? "verified" : "unverified"
    var quarantine: HistoryEntry?
    if let history, let recent = try await historyLookup {
      let q = try await history.quarantine(of: root.digest, recent: recent.entries, listing: recent.listing)
      warnSkipped(recent.skipped + q.skipped, log: log)
      quarantine = q.record
    }
    checks += policyChecks(root.digest, quarantine: quarantine, current: current, settings: settings, log: log)
    var summary = PromoteSummary(source: source, target: target, digest: root.digest, tags: tags, checks: checks, platforms: platformInfo, signatures: signatures)
    summary.environment = environment
    summary.previous = previous
    summary.attestations = bundles.filter { $0.predicateType != KeylessVerification.cosignSignPredicate }
    let signatureStatus = signatures.contains(where: \.isVerified) ? "verified" : signatures.isEmpty ? "unsigned" : settings.keys.isEmpty && keyless == nil ? "unchecked" : "unverified"
    return ImagePlan(
      settings: settings, src: src, dst: dst, target: target, root: root, graph: graph, current: current, previous: previous, alreadyThere: alreadyThere, blobsAtTarget: present,
      attachments: attachments, configs: configs, history: history, summary: summary, signatureStatus: signatureStatus, provenanceStatus: provenanceStatus)
  }

  /// Checks that depend on the target's state: the image was not rolled back from this
  /// environment (unless `force`), and with `no-clobber` no tag points elsewhere.
  private static func policyChecks(_ digest: Digest, quarantine: HistoryEntry?, current: [String: Digest], settings: PromoteSettings, log: Log) -> [Check] {
    var checks: [Check] = []
    if let environment = settings.environment, let record = quarantine {
      let when = RecordTime.iso(record.record.time)
      if settings.force {
        log.warning("\(digest) was rolled back from \(environment) (\(when), record \(record.tag)); promoting it again because force is true")
      } else {
        checks.append(Check(name: "not quarantined", passed: false, detail: "\(digest.short) was rolled back from \(environment) (\(when), record \(record.tag)); set force: true to promote it again"))
      }
    }
    if settings.noClobber {
      // The environment tag and `latest` exist to move: guarding them would refuse every
      // release after the first (`tags: [1.2.0, latest]` with no-clobber, as the Public ECR
      // example promotes).
      let moving = Set(["latest"] + (settings.environment.map { [$0] } ?? []))
      let clobbered = current.filter { !moving.contains($0.key) && $0.value != digest }.map { "\($0.key) (at \($0.value.short))" }.sorted()
      checks.append(
        Check(
          name: "no clobber", passed: clobbered.isEmpty,
          detail: clobbered.isEmpty ? "no target tag points elsewhere" : "would move " + clobbered.joined(separator: ", ") + " to \(digest.short)"))
    }
    return checks
  }

  /// The copier for this image, with `options` (a release shares one budget among its copies).
  func copier(_ options: CopyOptions) -> Copier {
    var options = options
    options.inHand = configs
    return Self.copier(settings, src: src, dst: dst, options: options)
  }

  private static func copier(_ settings: PromoteSettings, src: RegistryClient, dst: RegistryClient, options: CopyOptions) -> Copier {
    Copier(source: src, sourceRepository: settings.source.repository, target: dst, targetRepository: settings.target.repository, options: options)
  }

  /// The history details of this promotion (`release`: the release it is part of).
  func details(release: String? = nil) -> History.Details {
    var d = History.Details(operation: "promote", previous: previous, version: settings.version, tags: settings.tags, source: settings.source.description)
    d.release = release
    return d
  }
}

extension TagMoves {
  /// The tags of a release's plans.
  init(plans: [ImagePlan], concurrency: Int) {
    self.init(
      plans.map { TagSet(dst: $0.dst, target: $0.target, manifest: $0.root, tags: $0.settings.tags, current: $0.current, environment: $0.settings.environment) },
      concurrency: concurrency)
  }
}
