#include "services/relay/policy/model_policy.h"

#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/json/json_nesting.h"

namespace byok::relay {

bool WildcardMatch(absl::string_view pattern, absl::string_view text) {
  // Greedy matching with backtracking to the last '*': linear in practice, no recursion.
  size_t p = 0, t = 0, star = absl::string_view::npos, mark = 0;
  auto same = [](char a, char b) { return absl::ascii_tolower(a) == absl::ascii_tolower(b); };
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (p < pattern.size() && same(pattern[p], text[t])) {
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

std::string NotPermittedMessage(absl::string_view model) {
  return absl::StrCat("Model \"", model, "\" is not permitted on this relay.");
}

ModelAllowlist ModelAllowlist::Parse(absl::string_view comma_list) {
  std::vector<std::string> patterns;
  for (absl::string_view raw : absl::StrSplit(comma_list, ',')) {
    absl::string_view pattern = absl::StripAsciiWhitespace(raw);
    if (!pattern.empty()) patterns.emplace_back(pattern);
  }
  return ModelAllowlist(std::move(patterns));
}

bool ModelAllowlist::Matches(absl::string_view text) const {
  for (const std::string& pattern : patterns_) {
    if (WildcardMatch(pattern, text)) return true;
  }
  return false;
}

bool ModelAllowlist::AllowsProviderModel(absl::string_view provider,
                                         const std::optional<std::string>& model) const {
  if (patterns_.empty() || !model.has_value()) return true;
  if (Matches(*model)) return true;
  return model->find('/') == std::string::npos && Matches(absl::StrCat(provider, "/", *model));
}

bool ModelAllowlist::AllowsUnifiedModel(absl::string_view raw_model) const {
  return patterns_.empty() || Matches(raw_model);
}

JsonBodyFacts ReadJsonBody(absl::string_view body) {
  JsonBodyFacts facts;
  std::optional<nlohmann::json> doc = ::byok::json::ParseBounded<nlohmann::json>(body);
  if (!doc.has_value() || !doc->is_object()) return facts;
  auto model = doc->find("model");
  if (model != doc->end() && model->is_string()) facts.model = model->get<std::string>();
  auto stream = doc->find("stream");
  facts.stream = stream != doc->end() && stream->is_boolean() && stream->get<bool>();
  return facts;
}

std::optional<std::string> ModelFromGeminiPath(absl::string_view path) {
  for (absl::string_view prefix : {"/v1beta/models/", "/v1/models/"}) {
    if (!absl::StartsWith(path, prefix)) continue;
    absl::string_view rest = path.substr(prefix.size());
    size_t end = rest.find_first_of("/:?");
    absl::string_view name = rest.substr(0, end);
    if (name.empty()) return std::nullopt;
    absl::string_view after = end == absl::string_view::npos ? "" : rest.substr(end);
    for (absl::string_view action : {":generateContent", ":streamGenerateContent"}) {
      if (absl::StartsWith(after, action)) {
        after.remove_prefix(action.size());
        break;
      }
    }
    if (after.empty() || after.front() == '/' || after.front() == '?') return std::string(name);
    return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace byok::relay
