import Basics
import Crypto
import FoundationEssentials
import HTTP

/// Settings for a copy, with the defaults Gantry ships.
public struct CopyOptions: Sendable {
  /// Blobs copied at once. Default 4: enough to fill a link to a far registry without
  /// tripping rate limits.
  public var concurrency: Int = 4
  /// Attempts after the first for each blob (on transient failures). Default 3.
  public var retries: Int = 3
  /// Try a cross-repository mount when source and target are the same registry. Default true.
  public var mount: Bool = true
  /// Shared with other copies (a release): each blob copy holds a permit of the source's and
  /// the target's registry. Nil: only ``concurrency`` bounds this copy.
  public var budget: CopyBudget? = nil
  /// Called as bytes move (for progress lines).
  public var onProgress: (@Sendable (Int64) -> Void)? = nil
  /// Blobs the caller has read and verified already (the configs validation read): uploaded
  /// from memory, without reading the source again.
  public var inHand: [Digest: Data] = [:]

  public init() {}
}

/// What a copy did.
public struct CopyReport: Sendable, Equatable {
  public var bytesCopied: Int64 = 0
  public var bytesMounted: Int64 = 0
  public var blobsCopied = 0
  public var blobsMounted = 0
  public var blobsSkipped = 0
  public var manifestsPushed = 0
  public init() {}
}

/// Copies an image graph between repositories (and registries) by digest: blobs first (each
/// once, streamed GET → PUT with bounded memory, or mounted), then child manifests, then the
/// root, all by digest. Tags are not touched: the caller moves them after the copy succeeded.
/// Modelled on go-containerregistry's `remote.Write` ordering.
public struct Copier: Sendable {
  public let source: RegistryClient
  public let sourceRepository: String
  public let target: RegistryClient
  public let targetRepository: String
  public var options: CopyOptions

  public init(source: RegistryClient, sourceRepository: String, target: RegistryClient, targetRepository: String, options: CopyOptions = CopyOptions()) {
    self.source = source
    self.sourceRepository = sourceRepository
    self.target = target
    self.targetRepository = targetRepository
    self.options = options
  }

  /// - Parameters:
  ///   - rootPresent: whether the target already has the root manifest, when the caller
  ///     looked it up already (nil: look it up).
  ///   - pushRoot: false when the caller puts the root under its tags right after (a PUT by
  ///     tag stores the manifest too): saves one manifest PUT. Counted in the report either way.
  ///   - present: the blobs the target was found to have (``blobsPresent(_:)``), when the
  ///     caller asked already, e.g. while it validated the source (nil: ask here).
  public func copy(_ graph: ImageGraph, rootPresent: Bool? = nil, pushRoot: Bool = true, present known: Set<Digest>? = nil) async throws -> CopyReport {
    var report = CopyReport()
    let blobs = graph.blobs
    // A registry accepts a manifest only once everything it references is there, so a root
    // already present means the whole graph is: one request instead of one per blob
    // (go-containerregistry's remote.Write makes the same check).
    let present: Bool
    if let rootPresent {
      present = rootPresent
    } else {
      present = try await target.resolve(targetRepository, graph.root.digest.description)?.digest == graph.root.digest
    }
    if present {
      report.blobsSkipped = blobs.count
      options.onProgress?(Descriptor.totalSize(blobs) ?? .max)
      return report
    }
    // Which blobs the target has, asked all at once before any upload starts: on a far
    // registry a HEAD inside each copy would add a round trip to every wave of `concurrency`
    // copies. A mount of a blob the target has already succeeds too, so mounts ask nothing.
    let have: Set<Digest>
    if mounts { have = [] } else if let known { have = known } else { have = try await blobsPresent(graph, skipping: Set(options.inHand.keys)) }
    // Every upload is started at once (a POST only opens a session), so each copy of the
    // next `concurrency` is a single PUT fed by its GET: one round trip per wave instead of
    // two. A POST that fails here is made again, with retries, by the blob's copy. Under a
    // release's shared budget every request waits for its permit instead.
    let missing = blobs.filter { !have.contains($0.digest) }
    let uploads: [Digest: URL] =
      mounts || options.budget != nil
      ? [:]
      : Dictionary(
        try await boundedMap(missing, concurrency: 16) { blob -> (Digest, URL?) in
          guard case .location(let url)? = try? await self.target.startUpload(self.targetRepository) else { return (blob.digest, nil) }
          return (blob.digest, url)
        }.compactMap { d, url in url.map { (d, $0) } }, uniquingKeysWith: { a, _ in a })
    // Mounts move no bytes: more of them at once.
    let concurrency = mounts ? max(options.concurrency, 16) : options.concurrency
    let registries = [source.registry, target.registry]
    let finished = FinishedUploads()
    let outcomes: [BlobOutcome]
    do {
      outcomes = try await boundedMap(blobs, concurrency: concurrency) { blob -> BlobOutcome in
        if have.contains(blob.digest) { return .skipped }
        if let budget = self.options.budget { return try await budget.withPermits(registries) { try await self.copyBlobWithRetries(blob) } }
        let outcome = try await self.copyBlobWithRetries(blob, upload: uploads[blob.digest])
        finished.insert(blob.digest)
        return outcome
      }
    } catch {
      await abandon(uploads.filter { !finished.contains($0.key) }.map(\.value))
      throw error
    }
    for outcome in outcomes {
      switch outcome {
      case .skipped: report.blobsSkipped += 1
      case .mounted(let size):
        report.blobsMounted += 1
        report.bytesMounted = report.bytesMounted.addingSaturating(size)
      case .copied(let size):
        report.blobsCopied += 1
        report.bytesCopied = report.bytesCopied.addingSaturating(size)
      }
    }
    // Children before the index that names them: the platform images all at once, then
    // nested indexes after their own children. The root is absent, so they most likely are
    // too: put without asking first (a PUT of a manifest the registry has changes nothing).
    let images = graph.children.filter { !$0.isIndex }
    _ = try await boundedMap(images, concurrency: 8) { try await self.target.putManifest(self.targetRepository, $0.digest.description, $0) }
    for index in graph.children.reversed() where index.isIndex {
      try await target.putManifest(targetRepository, index.digest.description, index)
    }
    report.manifestsPushed += graph.children.count
    if pushRoot { try await target.putManifest(targetRepository, graph.root.digest.description, graph.root) }
    report.manifestsPushed += 1
    return report
  }

  /// Ends upload sessions no copy finished: those opened ahead, when the copy failed or was
  /// cancelled, and one an attempt opened itself, when its PUT failed (a retry opens another).
  /// One DELETE each, 16 at once, all within 5 s (what is left then is not sent), failures
  /// ignored. In a task of its own, so that a cancelled copy (a stage's `timeout`)
  /// still sends them; bounded, so that they take little of a cancelled stage's grace.
  private func abandon(_ sessions: [URL]) async {
    guard !sessions.isEmpty else { return }
    let target = self.target
    let repository = self.targetRepository
    let limit: Duration = .seconds(5)
    let deadline = ContinuousClock.now + limit
    await Task.detached {
      // Raced against the limit too: a DELETE answered 401 would fetch a token under the
      // client's own, longer timeout. The loser is cancelled, which aborts its transfers.
      await withTaskGroup(of: Void.self) { group in
        group.addTask {
          _ = try? await boundedMap(sessions, concurrency: 16) { session in
            let left = deadline - ContinuousClock.now
            if left > .milliseconds(100) { await target.cancelUpload(repository, at: session, timeout: left) }
          }
        }
        group.addTask { try? await Task.sleep(for: limit) }
        await group.next()
        group.cancelAll()
      }
    }.value
  }

  /// The graph's blobs the target repository has already (HEAD each, 16 at once; reads only).
  /// A caller may ask while it validates the source and hand the answer to ``copy``.
  /// `skipping`: blobs not to ask about (configs the caller holds: uploaded from memory).
  public func blobsPresent(_ graph: ImageGraph, skipping: Set<Digest> = []) async throws -> Set<Digest> {
    let blobs = graph.blobs.filter { !skipping.contains($0.digest) }
    let sizes = try await boundedMap(blobs, concurrency: 16) { try await self.target.blobSize(self.targetRepository, $0.digest) }
    return Set(zip(blobs, sizes).compactMap { $1 == nil ? nil : $0.digest })
  }

  /// Whether blobs are mounted from the source repository instead of copied (same registry,
  /// mounts allowed): then the target's blobs need not be asked for.
  public var mounts: Bool {
    source.registry == target.registry && options.mount && sourceRepository != targetRepository
  }

  enum BlobOutcome: Sendable {
    case skipped, mounted(Int64), copied(Int64)
  }

  /// `upload`: a session started already, used by the first attempt (a failed PUT ends it).
  private func copyBlobWithRetries(_ blob: Descriptor, upload: URL? = nil) async throws -> BlobOutcome {
    var attempt = 0
    while true {
      do {
        // This loop owns the retries of the blob's requests: the HTTP client makes one
        // attempt each, so attempts do not multiply.
        let started = attempt == 0 ? upload : nil
        return try await HTTPClient.$retriesOwnedByCaller.withValue(options.retries > 0) { try await copyBlob(blob, upload: started) }
      } catch let error as RegistryError where error.isTransient && attempt < options.retries {
        attempt += 1
        try await Task.sleep(for: .milliseconds(200 * (1 << min(attempt, 6))))
      }
    }
  }

  /// Copies (or mounts) one blob the target was found not to have, into `upload` when a
  /// session was started for it.
  private func copyBlob(_ blob: Descriptor, upload: URL?) async throws -> BlobOutcome {
    if !mounts, let data = options.inHand[blob.digest], Int64(data.count) == blob.size { return try await self.upload(blob, data, into: upload) }
    // Stream: the GET fills a bounded pipe that the PUT drains. Every byte is hashed and
    // counted on the way; the pipe keeps the last byte back until the whole body checked out,
    // so a corrupt or short blob aborts the upload before the target can commit it.
    let pipe = BodyPipe(length: blob.size, holdingLastByte: true)
    let sink = VerifyingSink(pipe: pipe, expected: blob, registry: source.registry, onProgress: options.onProgress)
    @Sendable func download() async throws -> Int64? {
      do {
        _ = try await source.streamBlob(sourceRepository, blob.digest, into: sink)
        let n = try sink.verify()
        pipe.close()
        return n
      } catch {
        pipe.close(error: error)
        throw error
      }
    }
    // Across registries the GET starts with the upload's POST (the pipe holds the first bytes
    // until the PUT drains it): one round trip less per blob. A mount needs no GET unless the
    // registry declines it, so there the GET waits for the POST's answer.
    async let early: Int64? = mounts ? nil : download()
    let start: RegistryClient.UploadStart
    do {
      if let upload { start = .location(upload) } else { start = try await startUpload(blob) }
    } catch {
      pipe.cancel()
      _ = try? await early
      throw error
    }
    guard case .location(let location) = start else {
      pipe.cancel()
      _ = try? await early
      options.onProgress?(blob.size)
      return .mounted(blob.size)
    }
    async let late: Int64? = mounts ? download() : nil
    do {
      try await target.finishUpload(targetRepository, at: location, digest: blob.digest, body: .source(pipe))
    } catch {
      pipe.cancel()
      if upload == nil { await abandon([location]) }
      // The source's failure (a digest mismatch, a short body) is the cause; the upload's
      // abort only follows from it.
      do {
        _ = try await early
        _ = try await late
      } catch let cause as RegistryError { throw cause } catch {}
      throw error
    }
    let first = try await early
    let second = try await late
    return .copied(first ?? second ?? 0)
  }

  /// A blob in hand (a config): its bytes were checked against its digest when read, so
  /// they go up from memory without reading the source again.
  private func upload(_ blob: Descriptor, _ data: Data, into started: URL?) async throws -> BlobOutcome {
    let location: URL
    if let started {
      location = started
    } else {
      guard case .location(let l) = try await target.startUpload(targetRepository) else { return .mounted(blob.size) }
      location = l
    }
    do {
      try await target.finishUpload(targetRepository, at: location, digest: blob.digest, body: .data(data))
    } catch {
      if started == nil { await abandon([location]) }
      throw error
    }
    options.onProgress?(blob.size)
    return .copied(blob.size)
  }

  /// The upload's POST: a cross-repository mount when mounting (falling back to an ordinary
  /// upload where the registry refuses mounts outright).
  private func startUpload(_ blob: Descriptor) async throws -> RegistryClient.UploadStart {
    guard mounts else { return try await target.startUpload(targetRepository) }
    do {
      return try await target.startUpload(targetRepository, mount: blob.digest, from: sourceRepository)
    } catch let e as RegistryError where !e.isTransient {
      return try await target.startUpload(targetRepository)
    }
  }
}

/// The blobs whose copy into a session opened ahead finished (their sessions are spent).
private final class FinishedUploads: @unchecked Sendable {
  private let lock = Lock()
  private var digests = Set<Digest>()
  func insert(_ digest: Digest) { lock.withLock { _ = digests.insert(digest) } }
  func contains(_ digest: Digest) -> Bool { lock.withLock { digests.contains(digest) } }
}

/// Forwards a blob's bytes to the pipe, hashing (SHA-256) and counting them as they pass,
/// and reports progress. Pausable like the pipe: the transport's engine thread drives the GET
/// that writes here and the PUT that reads the pipe, so a full pipe pauses the GET instead of
/// blocking the thread.
final class VerifyingSink: PausableBodySink, @unchecked Sendable {
  let pipe: BodyPipe
  let expected: Descriptor
  let registry: String
  let onProgress: (@Sendable (Int64) -> Void)?
  private let lock = Lock()
  private var hasher = SHA256()
  private var count: Int64 = 0

  init(pipe: BodyPipe, expected: Descriptor, registry: String, onProgress: (@Sendable (Int64) -> Void)?) {
    self.pipe = pipe
    self.expected = expected
    self.registry = registry
    self.onProgress = onProgress
  }

  func write(_ bytes: UnsafeRawBufferPointer) throws {
    try check(bytes)
    try pipe.write(bytes)
    passed(bytes)
  }

  func writeIfRoom(_ bytes: UnsafeRawBufferPointer) throws -> Bool {
    try check(bytes)
    // A full pipe takes nothing: the same bytes come again once it has room.
    guard try pipe.writeIfRoom(bytes) else { return false }
    passed(bytes)
    return true
  }

  func whenWritable(_ wake: (@Sendable () -> Void)?) { pipe.whenWritable(wake) }

  /// More bytes than the descriptor says: fail now, before they reach the target.
  private func check(_ bytes: UnsafeRawBufferPointer) throws {
    let n = lock.withLock { count }
    guard n.addingSaturating(Int64(bytes.count)) <= expected.size else {
      throw RegistryError.invalidResponse(registry: registry, why: "blob \(expected.digest.short) is longer than its descriptor's \(expected.size) bytes")
    }
  }

  /// Counts and hashes bytes the pipe took.
  private func passed(_ bytes: UnsafeRawBufferPointer) {
    lock.withLock {
      count += Int64(bytes.count)
      hasher.update(bufferPointer: bytes)
    }
    onProgress?(Int64(bytes.count))
  }

  /// The byte count once the body ended, if it is the descriptor's size and hashes to its digest.
  func verify() throws -> Int64 {
    let (n, digest) = lock.withLock { (count, Format.hex(hasher.finalize())) }
    guard n == expected.size else {
      throw RegistryError.invalidResponse(registry: registry, why: "blob \(expected.digest.short) is \(n) bytes, its descriptor says \(expected.size)")
    }
    guard "sha256:\(digest)" == expected.digest.description else {
      throw RegistryError.digestMismatch(expected: expected.digest.description, got: "sha256:\(digest)", registry: registry)
    }
    return n
  }
}
