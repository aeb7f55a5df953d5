import Basics
import FoundationEssentials
import HTTP
import OCI

/// One line of the validation checklist.
public struct Check: Sendable, Equatable {
  public var name: String
  public var passed: Bool
  public var detail: String
}

/// Per-platform facts for the summary and the size limit.
public struct PlatformInfo: Sendable, Equatable {
  public var platform: String
  public var digest: Digest
  public var size: Int64
  public var layers: Int
}

/// Validates a loaded image before anything is copied: every blob exists at the source with
/// its descriptor's size, each platform fits `maxSize`, configs decode and carry the
/// required labels, requested platforms are present.
struct Validator {
  /// What validation found: the checklist, each platform's facts, and the configs it read
  /// (verified against their digests; the small ones, for the copy to upload from memory).
  struct Outcome: Sendable {
    var checks: [Check]
    var platforms: [PlatformInfo]
    var configs: [Digest: Data]
  }

  /// Configs up to this size are kept for the copy; larger ones are read again from the source.
  static let keptConfigSize = 256 << 10
  /// What an image's configs may declare together for validation to read them all.
  static let configBudget: Int64 = 64 << 20

  let client: RegistryClient
  let repository: String
  let maxSize: Int64
  let requiredLabels: [String]
  let platforms: [Platform]
  /// The target already has the image's manifest, so it has every blob: none is asked for
  /// at the source (configs still are, for their labels).
  var blobsAtTarget = false

  func validate(_ graph: ImageGraph) async throws -> Outcome {
    var checks: [Check] = []
    let childCount = graph.children.count
    checks.append(Check(name: "manifests present", passed: true, detail: graph.root.isIndex ? "index and \(childCount) child manifest\(childCount == 1 ? "" : "s")" : "image manifest"))

    // HEAD every layer and GET every config, all at once: on a far registry this is round
    // trips, not bytes. A config's GET tells its presence and size too (its bytes are checked
    // against its digest): it gets no HEAD.
    let client = self.client
    let repository = self.repository
    // Configs are read whole (labels, platform) and held: each at most its declared size
    // (and 16 MiB), all of them at most `configBudget`; past that they are only asked for.
    let configSizes = Dictionary(
      graph.images.compactMap { image -> (Digest, Int64)? in if case .image(let config, _, _, _) = image.content { (config.digest, config.size) } else { nil } },
      uniquingKeysWith: { a, _ in a })
    let declared = configSizes.values.reduce(Int64(0)) { $0.addingSaturating(max($1, 0)) }
    let readConfigs = declared <= Self.configBudget
    let configDigests = readConfigs ? graph.configDigests : []
    enum Lookup: Sendable {
      case size(Int64?)
      case config(Digest, Data?)
      case absent(Digest)
    }
    enum Job: Sendable {
      case head(Digest)
      case config(Digest)
    }
    let heads = blobsAtTarget ? [] : graph.blobs.filter { !configDigests.contains($0.digest) }
    let jobs = heads.map { Job.head($0.digest) } + configDigests.map { Job.config($0) }
    let results = try await boundedMap(jobs, concurrency: 16) { job -> Lookup in
      switch job {
      case .head(let blob):
        return .size(try await client.blobSize(repository, blob))
      case .config(let digest):
        let limit = Int(clamping: min(max(configSizes[digest] ?? 0, 0), 16 << 20))
        do { return .config(digest, try await client.blob(repository, digest, limit: limit)) } catch let e as RegistryError {
          // A missing config is reported by the blob check; other registry errors stop the stage.
          if case .notFound = e { return .absent(digest) }
          throw e
        } catch {
          return .config(digest, nil)
        }
      }
    }
    var sizes: [Digest: Int64?] = [:]
    var configs: [Digest: Data] = [:]
    for (job, r) in zip(jobs, results) {
      switch (job, r) {
      case (.head(let d), .size(let s)): sizes[d] = s
      case (_, .config(let d, let data)):
        if let data {
          configs[d] = data
          sizes[d] = Int64(data.count)
        } else {
          sizes[d] = -1  // there, but unreadable: reported by the configs check
        }
      case (_, .absent(let d)): sizes[d] = .some(nil)
      default: continue
      }
    }
    var missing: [String] = []
    for blob in blobsAtTarget ? [] : graph.blobs {
      let size = sizes[blob.digest] ?? nil
      if size == nil {
        missing.append("\(blob.digest) missing")
      } else if let size, size >= 0, size != blob.size {
        missing.append("\(blob.digest) is \(size) bytes, descriptor says \(blob.size)")
      }
    }
    checks.append(
      Check(
        name: "blobs present", passed: missing.isEmpty,
        detail: !missing.isEmpty ? missing.joined(separator: "; ") : blobsAtTarget ? "\(graph.blobs.count) blobs, at the target already (it has the image's manifest)" : "\(graph.blobs.count) blobs"))

    var infos: [PlatformInfo] = []
    var configProblems: [String] = []
    var labelProblems: [String] = []
    for image in graph.images {
      guard case .image(let config, let layers, _, _) = image.content else { continue }
      // nil (a negative size, or a sum past Int64.max) fails the size limit cleanly.
      let size = Descriptor.totalSize([config] + layers) ?? .max
      var name = graph.platforms[image.digest]?.description
      if missing.contains(where: { $0.hasPrefix(config.digest.description) }) {
        configProblems.append("\(image.digest.short): config blob missing")
      } else if !readConfigs {
        configProblems.append("\(image.digest.short): not read, the configs declare \(ByteSize.format(declared)) together (Gantry reads \(ByteSize.format(Self.configBudget)))")
      } else {
        do {
          guard let data = configs[config.digest] else {
            configProblems.append("\(image.digest.short): config blob could not be read")
            infos.append(PlatformInfo(platform: name ?? "unknown", digest: image.digest, size: size, layers: layers.count))
            continue
          }
          let decoded = try ImageConfig(bytes: data)
          if name == nil, let os = decoded.os, let arch = decoded.architecture { name = "\(os)/\(arch)" }
          let absent = requiredLabels.filter { (decoded.labels[$0] ?? "").isEmpty }
          if !absent.isEmpty { labelProblems.append("\(name ?? image.digest.short) lacks \(absent.joined(separator: ", "))") }
        } catch {
          configProblems.append("\(image.digest.short): config does not decode (\(error))")
        }
      }
      infos.append(PlatformInfo(platform: name ?? "unknown", digest: image.digest, size: size, layers: layers.count))
    }
    checks.append(
      Check(name: "configs decode", passed: configProblems.isEmpty, detail: configProblems.isEmpty ? "\(infos.count) config\(infos.count == 1 ? "" : "s")" : configProblems.joined(separator: "; ")))
    if !requiredLabels.isEmpty {
      checks.append(Check(name: "required labels", passed: labelProblems.isEmpty, detail: labelProblems.isEmpty ? requiredLabels.joined(separator: ", ") : labelProblems.joined(separator: "; ")))
    }
    let tooBig = infos.filter { $0.size > maxSize }
    checks.append(
      Check(
        name: "size limit", passed: tooBig.isEmpty,
        detail: tooBig.isEmpty
          ? "largest \(ByteSize.format(infos.map(\.size).max() ?? 0)) ≤ \(ByteSize.format(maxSize))"
          : tooBig.map { "\($0.platform) is \(ByteSize.format($0.size)) > \(ByteSize.format(maxSize))" }.joined(separator: "; ")))
    if !platforms.isEmpty {
      let present = graph.platforms.values
      let absent = platforms.filter { want in !present.contains { want.matches($0) } && !infos.contains { $0.platform == want.description } }
      checks.append(
        Check(name: "platforms", passed: absent.isEmpty, detail: absent.isEmpty ? platforms.map(\.description).joined(separator: ", ") : "missing \(absent.map(\.description).joined(separator: ", "))")
      )
    }
    return Outcome(checks: checks, platforms: infos, configs: configs.filter { $0.value.count <= Self.keptConfigSize })
  }
}
