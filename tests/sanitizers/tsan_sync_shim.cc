// An LD_PRELOAD shim for ThreadSanitizer runs (scripts/sanitize.sh tsan): it makes the
// synchronisation of the uninstrumented Debian libraries visible to TSan.
//
// Debian's gRPC is not built with TSan, and neither is the Abseil it synchronises with. So when
// gRPC hands an object from one of its threads to another (a message our reactor asked for, to
// the thread that runs the reactor's callback), TSan sees our code touch it on both threads with
// no happens-before edge between them, and reports a race that gRPC's own synchronisation rules
// out. This shim wraps the entry points through which those hand-offs pass and tells TSan what
// each one guarantees:
//  - Abseil's Mutex and CondVar (what gRPC locks with): a lock acquires the mutex, an unlock
//    releases it, a wait releases and reacquires it (Abseil's own TSan annotations, when built
//    with TSan, say exactly this);
//  - gRPC's completion queue: a batch started with tag T (grpc_call_start_batch, or a server's
//    request for a new call) releases T, and the completion queue handing back an event for T
//    (grpc_completion_queue_next / _pluck, what the callback API's threads wait on) acquires T.
//    That is gRPC's documented contract: the completion for T is delivered after the batch of T
//    was started, and everything written before starting it is visible to whoever receives it.
//  - a callback-API server call ending: each callback of a call drops a reference to it
//    (callbacks_outstanding_, an acq_rel atomic) and whoever drops the last one schedules OnDone,
//    which destroys the call. The drops that our (instrumented) copies of gRPC's inline headers
//    make are seen by TSan, but the one after an OnCancel runs inside libgrpc++ and is not, so
//    when that one is the last, TSan saw no edge from the other callbacks to the destruction.
//    ServerCallbackCall::ScheduleOnDone, called by the last dropper only, acquires the counter.
// It reports nothing and hides nothing; it only supplies edges that the libraries guarantee.
#include <dlfcn.h>
#include <grpc/grpc.h>
#include <grpcpp/support/server_callback.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

// Weak: the shim is preloaded into every process of the run (ctest, the shell, openssl too), and
// only processes built with TSan have the runtime; in the others these are null and the shim
// merely forwards.
extern "C" void __tsan_acquire(void* addr) __attribute__((weak));
extern "C" void __tsan_release(void* addr) __attribute__((weak));

namespace {

// absl::Duration and absl::Time by value: {int64 hi; uint32 lo}, passed in two registers.
struct Duration {
  int64_t hi;
  uint32_t lo;
};

template <typename Fn>
Fn Real(const char* name) {
  void* fn = dlsym(RTLD_NEXT, name);
  if (fn == nullptr) {
    std::fprintf(stderr, "tsan_sync_shim: %s not found\n", name);
    std::abort();
  }
  return reinterpret_cast<Fn>(fn);
}

// The annotations keep errno as it was: gRPC reads errno after syscalls with a mutex operation in
// between (a clobbered errno made connects fail with ENOTTY).
void Acquire(void* addr) {
  const int saved = errno;
  if (__tsan_acquire != nullptr) __tsan_acquire(addr);
  errno = saved;
}
void Release(void* addr) {
  const int saved = errno;
  if (__tsan_release != nullptr) __tsan_release(addr);
  errno = saved;
}

// A pointer to the private ServerCallbackCall::callbacks_outstanding_: an explicit instantiation
// may name a private member, and the friend defined by it hands the pointer out.
using Counter = std::atomic_int grpc::internal::ServerCallbackCall::*;
Counter CallbacksOutstanding();
template <Counter member>
struct CounterAccess {
  friend Counter CallbacksOutstanding() { return member; }
};
template struct CounterAccess<&grpc::internal::ServerCallbackCall::callbacks_outstanding_>;

using MutexFn = void (*)(void*);
using TryFn = bool (*)(void*);
using WaitFn = void (*)(void*, void*);
using TimedWaitFn = bool (*)(void*, void*, Duration);

}  // namespace

#define FW_REAL(type, name) static const type real = Real<type>(name)

extern "C" {

// absl::Mutex::Lock / ReaderLock: acquire after taking it.
void _ZN4absl7debian35Mutex4LockEv(void* mu) {
  FW_REAL(MutexFn, "_ZN4absl7debian35Mutex4LockEv");
  real(mu);
  Acquire(mu);
}
void _ZN4absl7debian35Mutex10ReaderLockEv(void* mu) {
  FW_REAL(MutexFn, "_ZN4absl7debian35Mutex10ReaderLockEv");
  real(mu);
  Acquire(mu);
}

// absl::Mutex::TryLock / ReaderTryLock: acquire when taken.
bool _ZN4absl7debian35Mutex7TryLockEv(void* mu) {
  FW_REAL(TryFn, "_ZN4absl7debian35Mutex7TryLockEv");
  const bool taken = real(mu);
  if (taken) Acquire(mu);
  return taken;
}
bool _ZN4absl7debian35Mutex13ReaderTryLockEv(void* mu) {
  FW_REAL(TryFn, "_ZN4absl7debian35Mutex13ReaderTryLockEv");
  const bool taken = real(mu);
  if (taken) Acquire(mu);
  return taken;
}

// absl::Mutex::Unlock / ReaderUnlock: release before letting go.
void _ZN4absl7debian35Mutex6UnlockEv(void* mu) {
  FW_REAL(MutexFn, "_ZN4absl7debian35Mutex6UnlockEv");
  Release(mu);
  real(mu);
}
void _ZN4absl7debian35Mutex12ReaderUnlockEv(void* mu) {
  FW_REAL(MutexFn, "_ZN4absl7debian35Mutex12ReaderUnlockEv");
  Release(mu);
  real(mu);
}

// absl::ReleasableMutexLock::Release: unlocks the Mutex* it holds (its first member).
void _ZN4absl7debian319ReleasableMutexLock7ReleaseEv(void* lock) {
  FW_REAL(MutexFn, "_ZN4absl7debian319ReleasableMutexLock7ReleaseEv");
  Release(*static_cast<void**>(lock));
  real(lock);
}

// absl::CondVar::Wait*: the mutex is released while waiting and held again on return.
void _ZN4absl7debian37CondVar4WaitEPNS0_5MutexE(void* cv, void* mu) {
  FW_REAL(WaitFn, "_ZN4absl7debian37CondVar4WaitEPNS0_5MutexE");
  Release(mu);
  real(cv, mu);
  Acquire(mu);
}
bool _ZN4absl7debian37CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE(void* cv, void* mu,
                                                                          Duration d) {
  FW_REAL(TimedWaitFn, "_ZN4absl7debian37CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE");
  Release(mu);
  const bool timed_out = real(cv, mu, d);
  Acquire(mu);
  return timed_out;
}
bool _ZN4absl7debian37CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE(void* cv, void* mu,
                                                                       Duration t) {
  FW_REAL(TimedWaitFn, "_ZN4absl7debian37CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE");
  Release(mu);
  const bool timed_out = real(cv, mu, t);
  Acquire(mu);
  return timed_out;
}

// grpc_call_start_batch: what was written before starting the batch of `tag` happens before its
// completion is handed back.
grpc_call_error grpc_call_start_batch(grpc_call* call, const grpc_op* ops, size_t nops, void* tag,
                                      void* reserved) {
  using Fn = grpc_call_error (*)(grpc_call*, const grpc_op*, size_t, void*, void*);
  FW_REAL(Fn, "grpc_call_start_batch");
  Release(tag);
  return real(call, ops, nops, tag, reserved);
}

// A server's request for the next call: the same, for `tag_new`.
grpc_call_error grpc_server_request_call(grpc_server* server, grpc_call** call,
                                         grpc_call_details* details,
                                         grpc_metadata_array* request_metadata,
                                         grpc_completion_queue* cq_bound_to_call,
                                         grpc_completion_queue* cq_for_notification,
                                         void* tag_new) {
  using Fn =
      grpc_call_error (*)(grpc_server*, grpc_call**, grpc_call_details*, grpc_metadata_array*,
                          grpc_completion_queue*, grpc_completion_queue*, void*);
  FW_REAL(Fn, "grpc_server_request_call");
  Release(tag_new);
  return real(server, call, details, request_metadata, cq_bound_to_call, cq_for_notification,
              tag_new);
}

grpc_call_error grpc_server_request_registered_call(grpc_server* server, void* registered_method,
                                                    grpc_call** call, gpr_timespec* deadline,
                                                    grpc_metadata_array* request_metadata,
                                                    grpc_byte_buffer** optional_payload,
                                                    grpc_completion_queue* cq_bound_to_call,
                                                    grpc_completion_queue* cq_for_notification,
                                                    void* tag_new) {
  using Fn = grpc_call_error (*)(grpc_server*, void*, grpc_call**, gpr_timespec*,
                                 grpc_metadata_array*, grpc_byte_buffer**, grpc_completion_queue*,
                                 grpc_completion_queue*, void*);
  FW_REAL(Fn, "grpc_server_request_registered_call");
  Release(tag_new);
  return real(server, registered_method, call, deadline, request_metadata, optional_payload,
              cq_bound_to_call, cq_for_notification, tag_new);
}

// The completion queue hands back an event: its tag's batch is complete.
grpc_event grpc_completion_queue_next(grpc_completion_queue* cq, gpr_timespec deadline,
                                      void* reserved) {
  using Fn = grpc_event (*)(grpc_completion_queue*, gpr_timespec, void*);
  FW_REAL(Fn, "grpc_completion_queue_next");
  const grpc_event ev = real(cq, deadline, reserved);
  if (ev.type == GRPC_OP_COMPLETE) Acquire(ev.tag);
  return ev;
}

grpc_event grpc_completion_queue_pluck(grpc_completion_queue* cq, void* tag, gpr_timespec deadline,
                                       void* reserved) {
  using Fn = grpc_event (*)(grpc_completion_queue*, void*, gpr_timespec, void*);
  FW_REAL(Fn, "grpc_completion_queue_pluck");
  const grpc_event ev = real(cq, tag, deadline, reserved);
  if (ev.type == GRPC_OP_COMPLETE) Acquire(ev.tag);
  return ev;
}

// grpc::internal::ServerCallbackCall::ScheduleOnDone(bool): the call's last reference is gone;
// every drop before it happens before OnDone.
void _ZN4grpc8internal18ServerCallbackCall14ScheduleOnDoneEb(
    grpc::internal::ServerCallbackCall* call, bool inline_ondone) {
  using Fn = void (*)(grpc::internal::ServerCallbackCall*, bool);
  FW_REAL(Fn, "_ZN4grpc8internal18ServerCallbackCall14ScheduleOnDoneEb");
  Acquire(&(call->*CallbacksOutstanding()));
  real(call, inline_ondone);
}

}  // extern "C"
