import OCI

extension CopyReport {
  /// The log's one line about a copy: "6 blobs copied (1.0 MB), 0 mounted, 0 present".
  var line: String {
    "\(blobsCopied) blobs copied (\(ByteSize.format(bytesCopied))), \(blobsMounted) mounted, \(blobsSkipped) present"
  }
}
