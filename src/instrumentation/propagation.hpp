#pragma once
// Whether requests to Kubernetes API servers carry the call's W3C trace context
// (--propagate-trace-to-apiserver). Off by default: a kube-apiserver 1.36 without a tracing
// configuration still spends 4-6 % more CPU on a request whose traceparent says sampled
// (bench/apiserver-traceparent.mjs), which at ratio 1.0 is every request we send, and few API
// servers trace (managed control planes rarely let one). Turn it on where the API server traces,
// so its spans join ours.
namespace mk::trace {

bool propagate_to_apiserver();
void set_propagate_to_apiserver(bool on);

}  // namespace mk::trace
