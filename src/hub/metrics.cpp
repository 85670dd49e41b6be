#include "hubstress/model/hub_metrics.hpp"

#include <charconv>
#include <cmath>

namespace hubstress {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }
bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':'; }
bool is_name_char(char c) { return is_name_start(c) || (c >= '0' && c <= '9'); }

// A cursor over one line; every read either advances or leaves the position where it was.
class LineReader {
public:
  explicit LineReader(std::string_view line) : s_(line) {}

  bool at_end() const { return i_ >= s_.size(); }
  void skip_spaces() {
    while (!at_end() && is_space(s_[i_])) ++i_;
  }
  bool eat(char c) {
    if (at_end() || s_[i_] != c) return false;
    ++i_;
    return true;
  }

  // [a-zA-Z_:][a-zA-Z0-9_:]* (label names are the same without ':', which we tolerate)
  std::optional<std::string> name() {
    if (at_end() || !is_name_start(s_[i_])) return std::nullopt;
    const std::size_t start = i_;
    while (!at_end() && is_name_char(s_[i_])) ++i_;
    return std::string(s_.substr(start, i_ - start));
  }

  // "..." with \\, \" and \n unescaped; any other escape is kept as written.
  std::optional<std::string> quoted() {
    if (!eat('"')) return std::nullopt;
    std::string out;
    while (!at_end()) {
      const char c = s_[i_++];
      if (c == '"') return out;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (at_end()) return std::nullopt;
      const char e = s_[i_++];
      if (e == 'n') out += '\n';
      else if (e == '\\' || e == '"') out += e;
      else {
        out += '\\';
        out += e;
      }
    }
    return std::nullopt;  // unterminated
  }

  std::string_view token() {
    const std::size_t start = i_;
    while (!at_end() && !is_space(s_[i_])) ++i_;
    return s_.substr(start, i_ - start);
  }

private:
  std::string_view s_;
  std::size_t i_ = 0;
};

std::optional<double> parse_value(std::string_view t) {
  if (t.empty()) return std::nullopt;
  // from_chars takes no leading '+', and "+Inf" is how the format writes infinity
  if (t.front() == '+') {
    t.remove_prefix(1);
    if (t.empty() || t.front() == '+' || t.front() == '-') return std::nullopt;
  }
  double v = 0;
  const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v, std::chars_format::general);
  if (ec != std::errc() || end != t.data() + t.size()) return std::nullopt;
  return v;
}

std::optional<std::int64_t> parse_timestamp(std::string_view t) {
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc() || end != t.data() + t.size()) return std::nullopt;
  return v;
}

std::optional<PromSample> parse_sample_line(std::string_view line) {
  LineReader in(line);
  PromSample s;
  auto name = in.name();
  if (!name) return std::nullopt;
  s.name = std::move(*name);
  in.skip_spaces();
  if (in.eat('{')) {
    for (;;) {
      in.skip_spaces();
      if (in.eat('}')) break;
      auto key = in.name();
      if (!key) return std::nullopt;
      in.skip_spaces();
      if (!in.eat('=')) return std::nullopt;
      in.skip_spaces();
      auto value = in.quoted();
      if (!value) return std::nullopt;
      s.labels.emplace_back(std::move(*key), std::move(*value));
      in.skip_spaces();
      if (in.eat(',')) continue;  // a trailing comma before '}' is allowed
      if (in.eat('}')) break;
      return std::nullopt;
    }
    in.skip_spaces();
  }
  const auto value = parse_value(in.token());
  if (!value) return std::nullopt;
  s.value = *value;
  in.skip_spaces();
  if (!in.at_end()) {
    const auto ts = parse_timestamp(in.token());
    if (!ts) return std::nullopt;
    s.timestamp_ms = *ts;
    in.skip_spaces();
    if (!in.at_end()) return std::nullopt;
  }
  return s;
}

void add_to(std::optional<double>& total, double v) { total = total.value_or(0.0) + v; }

} // namespace

std::optional<std::string> PromSample::label(std::string_view key) const {
  for (const auto& [k, v] : labels) {
    if (k == key) return v;
  }
  return std::nullopt;
}

namespace {

// The sample lines of `text`, parsed; with `wanted`, only lines whose metric name it accepts (the
// others are not parsed at all, nor counted as skipped).
std::vector<PromSample> parse_lines(std::string_view text, std::size_t* skipped, bool (*wanted)(std::string_view)) {
  std::vector<PromSample> out;
  std::size_t bad = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    pos = eol + 1;
    while (!line.empty() && is_space(line.front())) line.remove_prefix(1);
    while (!line.empty() && is_space(line.back())) line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    if (wanted != nullptr) {
      std::size_t end = 0;
      while (end < line.size() && is_name_char(line[end])) ++end;
      if (!wanted(line.substr(0, end))) continue;
    }
    if (auto s = parse_sample_line(line)) out.push_back(std::move(*s));
    else ++bad;
  }
  if (skipped) *skipped = bad;
  return out;
}

} // namespace

std::vector<PromSample> parse_prometheus(std::string_view text, std::size_t* skipped) {
  return parse_lines(text, skipped, nullptr);
}

namespace {

const HubSampleField* source_of(std::string_view name) {
  for (const HubSampleField& f : hub_sample_fields()) {
    const bool match = f.suffix ? name.size() >= f.metric.size() && name.substr(name.size() - f.metric.size()) == f.metric
                                : name == f.metric;
    if (match) return &f;
  }
  return nullptr;
}

bool read_by_hub_sample(std::string_view name) { return source_of(name) != nullptr; }

} // namespace

const std::vector<HubSampleField>& hub_sample_fields() {
  static const std::vector<HubSampleField> fields{
      {"cpu_seconds_total", &HubSample::cpu_seconds_total, "process_cpu_seconds_total", false, false},
      {"resident_memory_bytes", &HubSample::resident_memory_bytes, "process_resident_memory_bytes", false, false},
      {"running_servers", &HubSample::running_servers, "jupyterhub_running_servers", false, false},
      {"total_users", &HubSample::total_users, "jupyterhub_total_users", false, false},
      {"start_time_s", &HubSample::start_time_s, "process_start_time_seconds", false, false},
      {"request_duration_sum_s", &HubSample::request_duration_sum_s, "jupyterhub_request_duration_seconds_sum", true, false},
      {"request_count", &HubSample::request_count, "jupyterhub_request_duration_seconds_count", true, false},
      {"spawn_duration_sum_s", &HubSample::spawn_duration_sum_s, "jupyterhub_server_spawn_duration_seconds_sum", true, false},
      {"spawn_count", &HubSample::spawn_count, "jupyterhub_server_spawn_duration_seconds_count", true, false},
      {"proxy_add_sum_s", &HubSample::proxy_add_sum_s, "jupyterhub_proxy_add_duration_seconds_sum", true, false},
      {"proxy_add_count", &HubSample::proxy_add_count, "jupyterhub_proxy_add_duration_seconds_count", true, false},
      {"event_loop_sum_s", &HubSample::event_loop_sum_s, "event_loop_interval_seconds_sum", true, true},
      {"event_loop_count", &HubSample::event_loop_count, "event_loop_interval_seconds_count", true, true},
  };
  return fields;
}

HubSample extract_hub_sample(const std::vector<PromSample>& samples, double t_s) {
  HubSample h;
  h.t_s = t_s;
  for (const auto& s : samples) {
    if (std::isnan(s.value)) continue;
    const HubSampleField* source = source_of(s.name);
    if (source == nullptr) continue;
    std::optional<double>& field = h.*(source->field);
    if (source->sum) add_to(field, s.value);
    else field = s.value;
  }
  return h;
}

HubSample hub_sample_from(std::string_view metrics_text, double t_s) {
  return extract_hub_sample(parse_lines(metrics_text, nullptr, &read_by_hub_sample), t_s);
}

} // namespace hubstress
