#include "services/relay/policy/model_policy.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/http/path.h"
#include "common/json/json_nesting.h"
#include "nlohmann/json.hpp"

namespace byok::relay {
namespace {

bool IsModelChar(unsigned char c) {
  if (absl::ascii_isalnum(c)) return true;
  switch (c) {
    case '.': case '_': case ':': case '@': case '+': case '/': case '-':
      return true;
    default:
      return false;
  }
}

absl::Status Ambiguous(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(what, " names the model more than once"));
}

// Returns the media type of a Content-Type value, lower-cased, without parameters.
std::string MediaType(absl::string_view content_type) {
  absl::string_view type = content_type.substr(0, content_type.find(';'));
  return absl::AsciiStrToLower(absl::StripAsciiWhitespace(type));
}

// Returns the value of parameter `name` in a header value such as `form-data; name="model"`, unquoted.
std::optional<std::string> HeaderParam(absl::string_view value, absl::string_view name) {
  std::vector<absl::string_view> parts = absl::StrSplit(value, ';');
  for (size_t i = 1; i < parts.size(); ++i) {
    absl::string_view part = absl::StripAsciiWhitespace(parts[i]);
    size_t eq = part.find('=');
    if (eq == absl::string_view::npos) continue;
    absl::string_view key = absl::StripAsciiWhitespace(part.substr(0, eq));
    if (!absl::EqualsIgnoreCase(key, name)) continue;
    absl::string_view v = absl::StripAsciiWhitespace(part.substr(eq + 1));
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    return std::string(v);
  }
  return std::nullopt;
}

}  // namespace

absl::Status ValidateModelName(absl::string_view model) {
  if (model.empty()) return absl::InvalidArgumentError("model name is empty");
  if (model.size() > kMaxModelLength) return absl::InvalidArgumentError("model name is too long");
  for (char c : model) {
    if (!IsModelChar(static_cast<unsigned char>(c))) {
      return absl::InvalidArgumentError("model name contains a character that is not allowed");
    }
  }
  if (absl::StrContains(model, "..")) return absl::InvalidArgumentError("model name contains '..'");
  if (model.front() == '/' || model.back() == '/' || absl::StrContains(model, "//")) {
    return absl::InvalidArgumentError("model name has an empty path segment");
  }
  return absl::OkStatus();
}

absl::Status ValidatePathModelName(absl::string_view model) {
  if (absl::Status s = ValidateModelName(model); !s.ok()) return s;
  for (char c : model) {
    unsigned char u = static_cast<unsigned char>(c);
    if (!absl::ascii_isalnum(u) && c != '.' && c != '_' && c != '-') {
      return absl::InvalidArgumentError("model name contains a character that is not allowed in a path");
    }
  }
  return absl::OkStatus();
}

bool WildcardMatch(absl::string_view pattern, absl::string_view text) {
  // Greedy matching with backtracking to the last '*': linear in practice, no recursion.
  size_t p = 0, t = 0, star = absl::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != absl::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

absl::StatusOr<ModelAllowlist> ModelAllowlist::Parse(absl::string_view comma_list) {
  std::vector<std::string> patterns;
  for (absl::string_view raw : absl::StrSplit(comma_list, ',')) {
    absl::string_view pattern = absl::StripAsciiWhitespace(raw);
    if (pattern.empty()) continue;
    if (pattern.size() > kMaxModelLength) {
      return absl::InvalidArgumentError("ALLOWED_MODELS has a pattern that is too long");
    }
    for (char c : pattern) {
      if (c != '*' && !IsModelChar(static_cast<unsigned char>(c))) {
        return absl::InvalidArgumentError(
            "ALLOWED_MODELS has a pattern with a character outside [A-Za-z0-9._:@+/-*]");
      }
    }
    patterns.emplace_back(pattern);
  }
  return ModelAllowlist(std::move(patterns));
}

absl::Status ModelAllowlist::Check(absl::string_view provider,
                                   const std::optional<std::string>& model) const {
  if (patterns_.empty()) return absl::OkStatus();
  if (!model.has_value()) {
    return absl::PermissionDeniedError(
        "ALLOWED_MODELS is set and the request's model could not be determined");
  }
  std::string qualified = absl::StrCat(provider, "/", *model);
  for (const std::string& pattern : patterns_) {
    if (WildcardMatch(pattern, *model) || WildcardMatch(pattern, qualified)) return absl::OkStatus();
  }
  return absl::PermissionDeniedError("model is not in ALLOWED_MODELS");
}

absl::StatusOr<std::optional<std::string>> ModelFromJson(absl::string_view body, absl::string_view field) {
  int occurrences = 0;
  nlohmann::json::parser_callback_t count_field = [&](int depth, nlohmann::json::parse_event_t event,
                                                      nlohmann::json& parsed) {
    if (event == nlohmann::json::parse_event_t::key && depth == 1 && parsed.is_string() &&
        parsed.get_ref<const std::string&>() == field) {
      ++occurrences;
    }
    return true;
  };
  // Bounded before parsing: the document is walked again below and by callers.
  if (!::byok::json::CheckJsonNesting(body).ok()) {
    return absl::InvalidArgumentError("JSON body nests too deeply");
  }
  nlohmann::json doc = nlohmann::json::parse(body.begin(), body.end(), count_field,
                                             /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return std::optional<std::string>();
  if (occurrences > 1) return Ambiguous("JSON body");
  auto it = doc.find(std::string(field));
  if (it == doc.end()) return std::optional<std::string>();
  if (!it->is_string()) return absl::InvalidArgumentError(absl::StrCat("\"", field, "\" must be a string"));
  return std::optional<std::string>(it->get<std::string>());
}

absl::StatusOr<std::optional<std::string>> ModelFromMultipart(absl::string_view content_type,
                                                              absl::string_view body,
                                                              absl::string_view field) {
  std::optional<std::string> boundary = HeaderParam(content_type, "boundary");
  if (!boundary.has_value() || boundary->empty() || boundary->size() > 200) {
    return absl::InvalidArgumentError("multipart body without a usable boundary");
  }
  const std::string delimiter = absl::StrCat("--", *boundary);
  const std::string next_delimiter = absl::StrCat("\r\n", delimiter);
  std::optional<std::string> found;
  int occurrences = 0;
  size_t pos = absl::StartsWith(body, delimiter) ? 0 : body.find(next_delimiter);
  if (pos == absl::string_view::npos) return std::optional<std::string>();
  if (pos != 0) pos += 2;
  while (pos != absl::string_view::npos) {
    pos += delimiter.size();
    if (body.substr(pos, 2) == "--") break;  // closing delimiter
    size_t line_end = body.find("\r\n", pos);
    if (line_end == absl::string_view::npos) break;
    size_t headers_end = body.find("\r\n\r\n", line_end);
    if (headers_end == absl::string_view::npos) break;
    absl::string_view headers = body.substr(line_end + 2, headers_end - line_end - 2);
    size_t content_start = headers_end + 4;
    size_t content_end = body.find(next_delimiter, content_start);
    bool named_field = false;
    for (absl::string_view line : absl::StrSplit(headers, "\r\n")) {
      size_t colon = line.find(':');
      if (colon == absl::string_view::npos) continue;
      if (!absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(line.substr(0, colon)), "content-disposition")) {
        continue;
      }
      absl::string_view value = line.substr(colon + 1);
      std::optional<std::string> name = HeaderParam(value, "name");
      std::optional<std::string> name_ext = HeaderParam(value, "name*");
      if ((name.has_value() && *name == field) ||
          (name_ext.has_value() && absl::EndsWith(*name_ext, absl::StrCat("'", field)))) {
        named_field = true;
      }
    }
    if (named_field) {
      ++occurrences;
      absl::string_view content = content_end == absl::string_view::npos
                                      ? body.substr(content_start)
                                      : body.substr(content_start, content_end - content_start);
      found = std::string(content);
    }
    pos = content_end == absl::string_view::npos ? content_end : content_end + 2;
  }
  if (occurrences > 1) return Ambiguous("multipart body");
  // A parser upstream that reads the parts differently could find a field this one missed; refuse any
  // body that mentions the field in a way the structured read did not account for.
  std::string lower_body = absl::AsciiStrToLower(body);
  size_t mentions = 0;
  for (const std::string& needle :
       {absl::StrCat("name=\"", field, "\""), absl::StrCat("name=", field, "\r"),
        absl::StrCat("name=", field, ";"), absl::StrCat("name*=")}) {
    for (size_t at = lower_body.find(needle); at != std::string::npos; at = lower_body.find(needle, at + 1)) {
      ++mentions;
    }
  }
  if (mentions > static_cast<size_t>(occurrences)) return Ambiguous("multipart body");
  return found;
}

absl::StatusOr<std::optional<std::string>> ModelFromUrlEncoded(absl::string_view body,
                                                               absl::string_view field) {
  absl::StatusOr<std::vector<std::string>> values = http::QueryParamValues(body, field);
  if (!values.ok()) return absl::InvalidArgumentError("form body has a malformed %-escape");
  if (values->size() > 1) return Ambiguous("form body");
  if (values->empty()) return std::optional<std::string>();
  return std::optional<std::string>(values->front());
}

std::optional<std::string> ModelFromGeminiPath(absl::string_view decoded_path) {
  std::vector<absl::string_view> segments = absl::StrSplit(decoded_path, '/');
  // "", version, "models", "{model}:{method}"
  if (segments.size() != 4 || segments[2] != "models") return std::nullopt;
  size_t colon = segments[3].rfind(':');
  if (colon == absl::string_view::npos || colon == 0) return std::nullopt;
  return std::string(segments[3].substr(0, colon));
}

namespace {

// Hugging Face task inference: /hf-inference/models/{model id}[/pipeline/{task}], where the model id
// is "name" or "org/name".
std::optional<std::string> ModelFromHfPath(absl::string_view decoded_path) {
  constexpr absl::string_view kPrefix = "/hf-inference/models/";
  if (!absl::ConsumePrefix(&decoded_path, kPrefix)) return std::nullopt;
  std::vector<absl::string_view> segments = absl::StrSplit(decoded_path, '/');
  std::vector<absl::string_view> id;
  for (absl::string_view s : segments) {
    if (s == "pipeline" || id.size() == 2) break;
    id.push_back(s);
  }
  if (id.empty() || id.front().empty()) return std::nullopt;
  return absl::StrJoin(id, "/");
}

}  // namespace

absl::StatusOr<std::optional<std::string>> ExtractModel(const ProviderSpec& provider,
                                                        absl::string_view decoded_path,
                                                        absl::string_view query,
                                                        const std::vector<http::HeaderField>& headers,
                                                        absl::string_view body) {
  std::optional<std::string> model;
  switch (provider.model_source) {
    case ModelSource::kGeminiPath:
      model = ModelFromGeminiPath(decoded_path);
      break;
    case ModelSource::kHfPath:
      model = ModelFromHfPath(decoded_path);
      break;
    case ModelSource::kQuery: {
      absl::StatusOr<std::vector<std::string>> values = http::QueryParamValues(query, provider.model_field);
      if (!values.ok()) return absl::InvalidArgumentError("query string has a malformed %-escape");
      if (values->size() > 1) return Ambiguous("query string");
      if (!values->empty()) model = values->front();
      break;
    }
    case ModelSource::kBody:
      break;
  }
  if (!model.has_value() && provider.model_source != ModelSource::kGeminiPath &&
      provider.model_source != ModelSource::kQuery && !body.empty()) {
    const std::string* content_type = http::FindHeader(headers, "content-type");
    std::string media = content_type == nullptr ? "" : MediaType(*content_type);
    absl::StatusOr<std::optional<std::string>> from_body;
    if (media == "multipart/form-data") {
      from_body = ModelFromMultipart(*content_type, body, provider.model_field);
    } else if (media == "application/x-www-form-urlencoded") {
      from_body = ModelFromUrlEncoded(body, provider.model_field);
    } else {
      // JSON, or a content type the relay does not know: a lenient upstream may still read it as JSON.
      from_body = ModelFromJson(body, provider.model_field);
    }
    if (!from_body.ok()) return from_body.status();
    model = *std::move(from_body);
  }
  if (model.has_value()) {
    absl::Status valid = provider.model_source == ModelSource::kGeminiPath ? ValidatePathModelName(*model)
                                                                            : ValidateModelName(*model);
    if (!valid.ok()) return valid;
  }
  return model;
}

}  // namespace byok::relay
