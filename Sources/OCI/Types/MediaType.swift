/// Manifest and config media types Gantry understands
/// ([image-spec media-types](https://github.com/opencontainers/image-spec/blob/main/media-types.md)).
public enum MediaType {
  public static let ociManifest = "application/vnd.oci.image.manifest.v1+json"
  public static let ociIndex = "application/vnd.oci.image.index.v1+json"
  public static let ociConfig = "application/vnd.oci.image.config.v1+json"
  public static let ociEmpty = "application/vnd.oci.empty.v1+json"
  public static let ociLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip"
  public static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
  public static let dockerList = "application/vnd.docker.distribution.manifest.list.v2+json"
  public static let dockerConfig = "application/vnd.docker.container.image.v1+json"
  public static let dockerSchema1 = "application/vnd.docker.distribution.manifest.v1+json"
  public static let dockerSchema1Signed = "application/vnd.docker.distribution.manifest.v1+prettyjws"

  /// Sent as `Accept` on every manifest request, or some registries answer schema 1 or errors.
  public static let manifestAccept = [ociIndex, ociManifest, dockerList, dockerManifest].joined(separator: ", ")

  public static func isIndex(_ t: String) -> Bool { t == ociIndex || t == dockerList }
  public static func isImage(_ t: String) -> Bool { t == ociManifest || t == dockerManifest }
  public static func isSchema1(_ t: String) -> Bool { t == dockerSchema1 || t == dockerSchema1Signed }
}
