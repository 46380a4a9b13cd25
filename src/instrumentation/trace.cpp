#include "instrumentation/trace.hpp"

#include "instrumentation/propagation.hpp"

#include "util/text.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <mutex>
#include <random>

namespace mk::trace {
namespace {

constexpr char kHex[] = "0123456789abcdef";

template <std::size_t N>
std::string hex(const std::array<std::uint8_t, N>& b) {
  std::string s(N * 2, '0');
  for (std::size_t i = 0; i < N; ++i) {
    s[2 * i] = kHex[b[i] >> 4];
    s[2 * i + 1] = kHex[b[i] & 15];
  }
  return s;
}

int lower_hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;  // uppercase too: the W3C grammar is HEXDIGLC
}

template <std::size_t N>
bool parse_hex(std::string_view s, std::array<std::uint8_t, N>& out) {
  if (s.size() != 2 * N) return false;
  for (std::size_t i = 0; i < N; ++i) {
    int hi = lower_hex_digit(s[2 * i]), lo = lower_hex_digit(s[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return true;
}

template <std::size_t N>
bool zero(const std::array<std::uint8_t, N>& b) {
  for (auto x : b)
    if (x) return false;
  return true;
}

std::mt19937_64& rng() {
  thread_local std::mt19937_64 g{[] {
    std::random_device rd;
    return (std::uint64_t{rd()} << 32) ^ rd();
  }()};
  return g;
}

// tracestate grammar (W3C Trace Context, section 3.3.1).
bool lcalpha(char c) { return c >= 'a' && c <= 'z'; }
bool key_char(char c) { return lcalpha(c) || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '*' || c == '/'; }
bool valid_key(std::string_view k) {
  auto at = k.find('@');
  if (at == std::string_view::npos) {
    if (k.empty() || k.size() > 256 || !lcalpha(k[0])) return false;
    for (char c : k)
      if (!key_char(c)) return false;
    return true;
  }
  auto tenant = k.substr(0, at), system = k.substr(at + 1);
  if (tenant.empty() || tenant.size() > 241 || system.empty() || system.size() > 14) return false;
  if (!lcalpha(tenant[0]) && !(tenant[0] >= '0' && tenant[0] <= '9')) return false;
  if (!lcalpha(system[0])) return false;
  for (char c : tenant)
    if (!key_char(c)) return false;
  for (char c : system)
    if (!key_char(c)) return false;
  return true;
}
bool valid_value(std::string_view v) {
  if (v.empty() || v.size() > 256) return false;
  for (char c : v)
    if (c < 0x20 || c > 0x7e || c == ',' || c == '=') return false;
  return v.back() != ' ';
}
std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::mutex g_mu;
std::shared_ptr<const Tracer> g_tracer;  // read under g_mu; spans keep their own sink alive
std::atomic<bool> g_enabled{false};      // lock-free "tracing is off" on the request path
std::atomic<bool> g_propagate{false};    // propagation.hpp

}  // namespace

std::string to_hex(const TraceId& id) { return hex(id); }
std::string to_hex(const SpanId& id) { return hex(id); }
bool is_zero(const TraceId& id) { return zero(id); }
bool is_zero(const SpanId& id) { return zero(id); }

std::optional<SpanContext> parse_traceparent(std::string_view s) {
  // version "-" trace-id "-" parent-id "-" trace-flags = 2+1+32+1+16+1+2 characters.
  constexpr std::size_t kLen = 55;
  if (s.size() < kLen) return std::nullopt;
  std::array<std::uint8_t, 1> version{}, flags{};
  if (!parse_hex(s.substr(0, 2), version) || version[0] == 0xff) return std::nullopt;
  if (version[0] == 0 && s.size() != kLen) return std::nullopt;
  // A later version may append fields, after a dash.
  if (s.size() > kLen && s[kLen] != '-') return std::nullopt;
  if (s[2] != '-' || s[35] != '-' || s[52] != '-') return std::nullopt;
  SpanContext c;
  if (!parse_hex(s.substr(3, 32), c.trace_id) || !parse_hex(s.substr(36, 16), c.span_id) ||
      !parse_hex(s.substr(53, 2), flags))
    return std::nullopt;
  if (is_zero(c.trace_id) || is_zero(c.span_id)) return std::nullopt;
  // Version 00 defines bits 0 (sampled) and 1 (random); keep those only.
  c.flags = flags[0] & 0x03;
  c.remote = true;
  return c;
}

std::string format_traceparent(const SpanContext& c) {
  std::string s = "00-00000000000000000000000000000000-0000000000000000-00";  // one allocation per request
  for (std::size_t i = 0; i < c.trace_id.size(); ++i) {
    s[3 + 2 * i] = kHex[c.trace_id[i] >> 4];
    s[4 + 2 * i] = kHex[c.trace_id[i] & 15];
  }
  for (std::size_t i = 0; i < c.span_id.size(); ++i) {
    s[36 + 2 * i] = kHex[c.span_id[i] >> 4];
    s[37 + 2 * i] = kHex[c.span_id[i] & 15];
  }
  s[54] = kHex[c.flags & 0x03];
  return s;
}

std::string sanitize_tracestate(std::string_view s) {
  constexpr std::size_t kMaxMembers = 32, kMaxLength = 512;
  if (s.size() > kMaxLength) return {};
  std::size_t members = 0;
  std::string out;
  while (true) {
    auto comma = s.find(',');
    auto member = trim_ows(s.substr(0, comma));
    if (!member.empty()) {
      auto eq = member.find('=');
      if (eq == std::string_view::npos || !valid_key(member.substr(0, eq)) || !valid_value(member.substr(eq + 1)))
        return {};
      if (++members > kMaxMembers) return {};
      if (!out.empty()) out += ',';
      out += member;
    }
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
  return out;
}

Extracted extract(std::string_view p_tp, std::string_view p_ts, std::string_view s_tp, std::string_view s_ts) {
  auto one = [](std::string_view tp, std::string_view ts) {
    auto c = parse_traceparent(tp);
    if (c) c->trace_state = sanitize_tracestate(ts);
    return c;
  };
  Extracted e;
  auto primary = one(p_tp, p_ts);
  auto secondary = one(s_tp, s_ts);
  if (primary) {
    e.parent = std::move(primary);
    if (secondary && (secondary->trace_id != e.parent->trace_id || secondary->span_id != e.parent->span_id))
      e.link = std::move(secondary);
  } else {
    e.parent = std::move(secondary);
  }
  return e;
}

Sampler::Sampler(Kind k, double ratio) : kind_(k), ratio_(std::clamp(ratio, 0.0, 1.0)) {
  // Go's TraceIDRatioBased: sampled when the trace id's last 8 bytes, shifted right once, are
  // below ratio * 2^63. Deterministic per trace id, so every service agrees on one trace.
  bound_ = ratio_ >= 1.0 ? ~std::uint64_t{0} : static_cast<std::uint64_t>(ratio_ * 9223372036854775808.0);
}

Sampler Sampler::from_names(std::string_view name, std::string_view arg, std::string* error) {
  auto bad = [&](std::string msg) {
    if (error) *error = std::move(msg);
    return Sampler();
  };
  double ratio = 1.0;
  if (!arg.empty()) {
    auto [p, ec] = std::from_chars(arg.data(), arg.data() + arg.size(), ratio);
    if (ec != std::errc() || p != arg.data() + arg.size() || !std::isfinite(ratio) || ratio < 0 || ratio > 1)
      return bad("OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1");
  }
  if (name.empty() || name == "parentbased_traceidratio") return Sampler(Kind::parent_ratio, ratio);
  if (name == "traceidratio") return Sampler(Kind::ratio, ratio);
  if (name == "always_on") return Sampler(Kind::always_on, 1);
  if (name == "always_off") return Sampler(Kind::always_off, 0);
  if (name == "parentbased_always_on") return Sampler(Kind::parent_always_on, 1);
  if (name == "parentbased_always_off") return Sampler(Kind::parent_always_off, 0);
  return bad(
      "OTEL_TRACES_SAMPLER: unknown sampler (always_on, always_off, traceidratio, parentbased_always_on, "
      "parentbased_always_off, parentbased_traceidratio)");
}

bool Sampler::should_sample(const SpanContext* parent, const TraceId& id) const {
  bool parent_based =
      kind_ == Kind::parent_always_on || kind_ == Kind::parent_always_off || kind_ == Kind::parent_ratio;
  if (parent_based && parent && parent->valid()) return parent->sampled();
  switch (kind_) {
    case Kind::always_on:
    case Kind::parent_always_on: return true;
    case Kind::always_off:
    case Kind::parent_always_off: return false;
    case Kind::ratio:
    case Kind::parent_ratio: break;
  }
  if (ratio_ >= 1.0) return true;
  std::uint64_t low = 0;
  for (int i = 8; i < 16; ++i) low = low << 8 | id[i];
  return (low >> 1) < bound_;
}

Span::Span(Span&& o) noexcept : ctx_(std::move(o.ctx_)), data_(std::move(o.data_)), sink_(std::move(o.sink_)) {}

Span& Span::operator=(Span&& o) noexcept {
  if (this != &o) {
    end();
    ctx_ = std::move(o.ctx_);
    data_ = std::move(o.data_);
    sink_ = std::move(o.sink_);
  }
  return *this;
}

SpanData::SpanData() : arena_(inline_.data(), inline_.size()), attributes_(&arena_) {
  attributes_.reserve(16);  // what the busiest span sets; more grows within the arena's bounds
}

void SpanData::set(AttrKey key, AttrValue value) {
  auto it = std::find_if(attributes_.begin(), attributes_.end(), [&](const Attribute& a) {
    return a.key.data() == key.view().data() || a.key == key.view();  // one literal: one address, mostly
  });
  if (it == attributes_.end() && attributes_.size() >= kMaxAttributes) {
    ++dropped_attributes;
    return;
  }
  if (auto* text = std::get_if<std::string_view>(&value)) {
    auto v = utf8_prefix(*text, kMaxAttributeValue);
    if (text_bytes_ + v.size() > kMaxSpanText) {
      ++dropped_attributes;
      if (it != attributes_.end()) attributes_.erase(it);  // not exported with its old value
      return;
    }
    text_bytes_ += v.size();
    if (v.empty()) {
      value = std::string_view();
    } else {
      auto* p = static_cast<char*>(arena_.allocate(v.size(), 1));
      std::copy(v.begin(), v.end(), p);
      value = std::string_view(p, v.size());
    }
  }
  if (it != attributes_.end()) it->value = value;
  else attributes_.push_back({key.view(), value});
}

void SpanData::reset() {
  context = {};
  parent_span_id = {};
  name.clear();
  kind = SpanKind::internal;
  start_ns = end_ns = 0;
  attributes_ = std::pmr::vector<Attribute>(&arena_);  // drops the old block, which is in the arena
  arena_.release();                                    // back to the inline block; overflow goes upstream
  text_bytes_ = 0;
  attributes_.reserve(16);
  dropped_attributes = 0;
  links.clear();
  status = Status::unset;
  status_message.clear();
}

const AttrValue* SpanData::find(std::string_view key) const {
  for (auto& a : attributes_)
    if (a.key == key) return &a.value;
  return nullptr;
}

void Span::set(AttrKey key, std::string_view value) {
  if (data_) data_->set(key, value);
}
void Span::set(AttrKey key, std::int64_t value) {
  if (data_) data_->set(key, value);
}
void Span::set(AttrKey key, bool value) {
  if (data_) data_->set(key, value);
}
void Span::set(AttrKey key, double value) {
  if (data_) data_->set(key, value);
}

void Span::set_status(Status s, std::string_view message) {
  if (!data_) return;
  data_->status = s;
  data_->status_message = s == Status::error ? std::string(utf8_prefix(message, kMaxAttributeValue)) : std::string();
}

void Span::set_name(std::string name) {
  if (data_) data_->name = std::move(name);
}

void Span::end() {
  if (!data_) return;
  data_->end_ns = std::max(now_unix_ns(), data_->start_ns);
  auto sink = std::move(sink_);
  if (sink) sink->on_end(std::move(data_));
  data_.reset();
}

Tracer::Tracer(Sampler sampler, std::shared_ptr<SpanSink> sink) : sampler_(sampler), sink_(std::move(sink)) {}

Span Tracer::start(std::string name, SpanKind kind, const SpanContext* parent) const {
  return start(std::move(name), kind, parent, {});
}

Span Tracer::start(std::string name, SpanKind kind, const SpanContext* parent, std::vector<Link> links) const {
  Span s;
  bool has_parent = parent && parent->valid();
  s.ctx_.trace_id = has_parent ? parent->trace_id : random_trace_id();
  s.ctx_.span_id = random_span_id();
  if (has_parent) s.ctx_.trace_state = parent->trace_state;
  if (!sampler_.should_sample(has_parent ? parent : nullptr, s.ctx_.trace_id)) return s;  // flags 00
  s.ctx_.flags = 1;
  s.data_ = sink_ ? sink_->make_span_data() : std::make_unique<SpanData>();
  s.data_->context = s.ctx_;
  if (has_parent) s.data_->parent_span_id = parent->span_id;
  s.data_->name.assign(name);  // into a pooled span's buffer: `name` is freed on this thread
  s.data_->kind = kind;
  s.data_->start_ns = now_unix_ns();
  s.data_->links = std::move(links);
  s.sink_ = sink_;
  return s;
}

bool propagate_to_apiserver() { return g_propagate.load(std::memory_order_relaxed); }
void set_propagate_to_apiserver(bool on) { g_propagate.store(on, std::memory_order_relaxed); }

std::shared_ptr<const Tracer> global() {
  if (!g_enabled.load(std::memory_order_acquire)) return nullptr;
  std::lock_guard lk(g_mu);
  return g_tracer;
}

void set_global(std::shared_ptr<const Tracer> t) {
  std::lock_guard lk(g_mu);
  g_enabled.store(t != nullptr, std::memory_order_release);
  g_tracer = std::move(t);
}

Span start_child(std::string name, SpanKind kind, const SpanContext& parent) {
  if (!parent.sampled()) {
    Span s;
    // Not recorded; still propagated (flags 00) so a downstream service can tell.
    return s;
  }
  auto t = global();
  if (!t) return Span();
  return t->start(std::move(name), kind, &parent);
}

TraceId random_trace_id() {
  TraceId id;
  do {
    auto a = rng()(), b = rng()();
    for (int i = 0; i < 8; ++i) {
      id[i] = static_cast<std::uint8_t>(a >> (8 * i));
      id[8 + i] = static_cast<std::uint8_t>(b >> (8 * i));
    }
  } while (is_zero(id));
  return id;
}

SpanId random_span_id() {
  SpanId id;
  do {
    auto a = rng()();
    for (int i = 0; i < 8; ++i) id[i] = static_cast<std::uint8_t>(a >> (8 * i));
  } while (is_zero(id));
  return id;
}

std::string log_fields(const SpanContext& c) {
  if (!c.sampled()) return {};
  return " trace_id=" + to_hex(c.trace_id) + " span_id=" + to_hex(c.span_id);
}

std::uint64_t now_unix_ns() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

}  // namespace mk::trace
