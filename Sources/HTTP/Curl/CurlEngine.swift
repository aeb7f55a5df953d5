import Basics
import CCurl
import FoundationEssentials

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// One thread driving every transfer of a ``CurlTransport`` through one `curl_multi` handle:
/// it sleeps in `curl_multi_poll` until a socket, a libcurl timer or `curl_multi_wakeup` (a
/// new request, a cancellation, a paused body that may go on) needs it. Easy handles and
/// transfer state belong to that thread; other threads only queue commands, behind `lock`.
/// The multi handle keeps one connection cache (and HTTP/2 multiplexing) for the whole run.
///
/// The thread exits after `idleTimeout` without transfers and starts again on the next
/// request; while it runs it holds the engine, so an engine (and its connections) lives
/// until its last transfer ended, and no thread outlives an idle transport.
///
/// The engine is also a `TaskExecutor`: tasks that prefer it (``CurlTransport``'s
/// `withAffinity`) run on the engine thread between two turns of the loop. A request such a
/// task sends is queued without a wakeup, and its answer resumes the task on the same thread,
/// so a loop of small requests (health-check's probes) crosses no thread at all; the thread
/// does nothing else meanwhile, so such code must not block.
final class CurlEngine: TaskExecutor, @unchecked Sendable {
  enum Command {
    case start(Transfer)
    case cancel(Transfer)
    /// A paused body may go on.
    case resume(Transfer)
  }

  private let configuration: TransportConfiguration
  private let idleTimeout: Duration
  /// Created with the engine and never replaced, so `curl_multi_wakeup` (thread-safe) may
  /// be called on it from any thread.
  private let multi: UnsafeMutableRawPointer?
  private let share: UnsafeMutableRawPointer?

  // Shared with submitting threads.
  private let lock = Lock()
  private var commands: [Command] = []
  /// Tasks that prefer this engine as their executor, ready to run.
  private var jobs: [UnownedJob] = []
  private var threadRunning = false
  /// The engine thread while it runs: work queued from it needs no wakeup.
  private var engineThread: pthread_t?
  private var engineCPU: Duration = .zero
  private var threadsStarted = 0

  // Engine thread only (handed from one engine thread to the next through `lock`).
  private var active: [UnsafeMutableRawPointer: Transfer] = [:]
  private var idleHandles: [EasyHandle] = []

  init(configuration: TransportConfiguration) {
    self.configuration = configuration
    self.idleTimeout = configuration.engineIdleTimeout
    multi = curl_multi_init()
    if let multi {
      ccurl_multi_setopt_long(multi, CURLMOPT_PIPELINING, ccurl_pipe_multiplex)
      ccurl_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, max(16, configuration.maxIdleHandles))
    }
    // TLS sessions shared by every handle (one thread: no lock callbacks needed).
    share = curl_share_init()
    if let share { ccurl_share_setopt_long(share, CURLSHOPT_SHARE, Int(CURL_LOCK_DATA_SSL_SESSION.rawValue)) }
  }

  deinit {
    // The last engine thread let go of the engine after its last use of these, under `lock`.
    lock.withLock {
      idleHandles.removeAll()
      if let multi { curl_multi_cleanup(multi) }
      if let share { curl_share_cleanup(share) }
    }
  }

  /// Queues `command`, starting the engine thread or waking it.
  func submit(_ command: Command) {
    queue { commands.append(command) }
  }

  /// Runs `job` on the engine thread (`TaskExecutor`).
  func enqueue(_ job: consuming ExecutorJob) {
    let job = UnownedJob(job)
    queue { jobs.append(job) }
  }

  /// Adds work (under `lock`), then starts the engine thread, or wakes it unless the work
  /// came from the engine thread itself (it looks for work before it sleeps again).
  private func queue(_ add: () -> Void) {
    enum Next { case start, wake, none }
    let next: Next = lock.withLock {
      add()
      guard threadRunning else {
        threadRunning = true
        threadsStarted += 1
        return .start
      }
      if let engineThread, pthread_equal(engineThread, pthread_self()) != 0 { return .none }
      return .wake
    }
    switch next {
    case .start:
      // Tasks run on this thread too: a thread's usual 8 MiB of stack (reserved, not used).
      if !Threads.detach(name: "gantry-curl", stackSize: 8 << 20, { [self] in run() }) {
        // No thread to be had: the queued commands fail rather than wait forever, and
        // tasks go to the global executor.
        while let (batch, work) = takeWorkOrStop() {
          for case .start(let t) in batch { t.finish(.failure(HTTPError.invalidRequest("the system refused a thread for libcurl"))) }
          for job in work { globalConcurrentExecutor.enqueue(ExecutorJob(job)) }
        }
      }
    case .wake:
      if let multi { curl_multi_wakeup(multi) }
    case .none:
      break
    }
  }

  /// Whether the engine thread is running (for tests).
  var isRunning: Bool { lock.withLock { threadRunning } }
  /// CPU time the engine threads used so far, and how many were started (for tests).
  var usage: (cpu: Duration, threads: Int) { lock.withLock { (engineCPU, threadsStarted) } }

  private func run() {
    let cpuStart = Self.threadCPU()
    lock.withLock { engineThread = pthread_self() }
    defer {
      let used = Self.threadCPU() - cpuStart
      lock.withLock { engineCPU += used }
    }
    let executor = asUnownedTaskExecutor()
    guard let multi else {
      while let (batch, work) = takeWorkOrStop() {
        for case .start(let t) in batch { t.finish(.failure(HTTPError.invalidRequest("libcurl could not create a multi handle"))) }
        for job in work { job.runSynchronously(on: executor) }
      }
      return
    }
    let clock = ContinuousClock()
    var idleSince = clock.now
    var batch: [Command] = []
    var work: [UnownedJob] = []
    while true {
      // Tasks first: the requests they send are started in this same turn.
      lock.withLock { swap(&work, &jobs) }
      for job in work { job.runSynchronously(on: executor) }
      work.removeAll(keepingCapacity: true)
      lock.withLock { swap(&batch, &commands) }
      for command in batch { handle(command, multi) }
      batch.removeAll(keepingCapacity: true)
      var running: Int32 = 0
      curl_multi_perform(multi, &running)
      // Answers resume their tasks: those on this engine are queued for the next turn.
      collectFinished(multi)
      if hasWork() {
        idleSince = clock.now
        continue
      }
      var waitMs: Int32 = 1000
      if active.isEmpty {
        let idle = idleSince.duration(to: clock.now)
        if idle >= idleTimeout {
          if stopIfNoWork() { return }
          continue
        }
        waitMs = Int32(clamping: max(1, (idleTimeout - idle).milliseconds))
      } else {
        idleSince = clock.now
      }
      // Sleeps until a socket is ready, libcurl's next timer (it lowers the wait itself), or
      // a wakeup from `queue`: never spins.
      var ready: Int32 = 0
      curl_multi_poll(multi, nil, 0, waitMs, &ready)
      if active.isEmpty && !hasWork() { continue }
      idleSince = clock.now
    }
  }

  private func hasWork() -> Bool { lock.withLock { !commands.isEmpty || !jobs.isEmpty } }

  /// Ends the thread unless work arrived meanwhile.
  private func stopIfNoWork() -> Bool {
    lock.withLock {
      guard commands.isEmpty, jobs.isEmpty else { return false }
      threadRunning = false
      engineThread = nil
      return true
    }
  }

  /// Without a multi handle (or a thread): the queued work, or nil (and the thread stops)
  /// when none.
  private func takeWorkOrStop() -> ([Command], [UnownedJob])? {
    lock.withLock {
      guard !commands.isEmpty || !jobs.isEmpty else {
        threadRunning = false
        engineThread = nil
        return nil
      }
      defer {
        commands.removeAll()
        jobs.removeAll()
      }
      return (commands, jobs)
    }
  }

  private func handle(_ command: Command, _ multi: UnsafeMutableRawPointer) {
    switch command {
    case .start(let transfer):
      start(transfer, multi)
    case .cancel(let transfer):
      if let h = transfer.handle?.raw, active[h] === transfer {
        curl_multi_remove_handle(multi, h)
        active[h] = nil
        finish(transfer, .failure(HTTPError.cancelled))
      }
    case .resume(let transfer):
      if let h = transfer.handle?.raw, active[h] === transfer {
        curl_easy_pause(h, ccurl_pause_cont)
      }
    }
  }

  private func start(_ transfer: Transfer, _ multi: UnsafeMutableRawPointer) {
    if transfer.isCancelled {
      transfer.cancelPipes()
      transfer.finish(.failure(HTTPError.cancelled))
      return
    }
    let handle: EasyHandle
    if let reused = idleHandles.popLast() {
      handle = reused
    } else if let raw = curl_easy_init() {
      handle = EasyHandle(raw: raw)
    } else {
      transfer.finish(.failure(HTTPError.invalidRequest("libcurl could not create a handle")))
      return
    }
    do {
      try CurlOptions.configure(handle.raw, transfer, configuration: configuration, share: share)
    } catch {
      recycle(handle)
      transfer.finish(.failure(error))
      return
    }
    // A paused body wakes the engine, which resumes the transfer on this thread.
    let wake: @Sendable () -> Void = { [weak self, weak transfer] in
      guard let self, let transfer else { return }
      self.submit(.resume(transfer))
    }
    (transfer.source as? PausableBodySource)?.whenReadable(wake)
    if case .sink(let sink) = transfer.request.destination { (sink as? PausableBodySink)?.whenWritable(wake) }
    transfer.handle = handle
    let added = curl_multi_add_handle(multi, handle.raw)
    guard added == CURLM_OK else {
      transfer.handle = nil
      recycle(handle)
      finish(transfer, .failure(HTTPError.invalidRequest("libcurl could not start the transfer (CURLM \(added.rawValue))")))
      return
    }
    active[handle.raw] = transfer
  }

  /// Answers every transfer libcurl reports done.
  private func collectFinished(_ multi: UnsafeMutableRawPointer) {
    var left: Int32 = 0
    while let message = curl_multi_info_read(multi, &left) {
      guard message.pointee.msg == CURLMSG_DONE, let h = message.pointee.easy_handle, let transfer = active[h] else { continue }
      let code = ccurl_msg_result(message)
      curl_multi_remove_handle(multi, h)
      active[h] = nil
      let result: Result<Response, any Error>
      if let failure = transfer.failure {
        result = .failure(failure)
      } else if code != CURLE_OK {
        let detail = transfer.errorMessage
        var message = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
        if code == CURLE_PEER_FAILED_VERIFICATION, let hint = CurlTransport.ipCertificateHint(transfer.request.url) { message += hint }
        result = .failure(
          HTTPError.transport(url: transfer.request.url.redacted, code: Int(code.rawValue), message: message, bytesDelivered: transfer.deliveredToSink))
      } else {
        var version = 0
        ccurl_getinfo_long(h, CURLINFO_HTTP_VERSION, &version)
        result = .success(transfer.response(httpVersion: CurlOptions.versionName(version)))
      }
      finish(transfer, result)
    }
  }

  private func finish(_ transfer: Transfer, _ result: Result<Response, any Error>) {
    if case .failure(HTTPError.cancelled) = result { transfer.cancelPipes() }
    if let handle = transfer.handle {
      transfer.handle = nil
      recycle(handle)
    }
    transfer.finish(result)
  }

  /// Keeps a handle for the next transfer, reset at once: its options point into the
  /// finished transfer (error buffer, header lists, userdata), which is about to go.
  private func recycle(_ handle: EasyHandle) {
    guard idleHandles.count < configuration.maxIdleHandles else { return }
    curl_easy_reset(handle.raw)
    idleHandles.append(handle)
  }

  /// CPU time of the calling thread.
  private static func threadCPU() -> Duration {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return .seconds(ts.tv_sec) + .nanoseconds(ts.tv_nsec)
  }
}

/// An owned `CURL*`, freed with its owner.
final class EasyHandle: @unchecked Sendable {
  let raw: UnsafeMutableRawPointer
  init(raw: UnsafeMutableRawPointer) { self.raw = raw }
  deinit { curl_easy_cleanup(raw) }
}
