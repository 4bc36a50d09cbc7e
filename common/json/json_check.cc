#include "common/json/json_check.h"

#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>

namespace byok::json {
namespace {

using Json = nlohmann::json;

// nlohmann's own parser, driven without a document: it reports each value, and this keeps only the
// depth and whether the top container saw anything. Any callback's false stops the parse as invalid.
class ShapeHandler final : public nlohmann::json_sax<Json> {
 public:
  bool has_elements() const { return has_elements_; }

  bool null() override { return Scalar(); }
  bool boolean(bool /*value*/) override { return Scalar(); }
  bool number_integer(number_integer_t /*value*/) override { return Scalar(); }
  bool number_unsigned(number_unsigned_t /*value*/) override { return Scalar(); }
  bool number_float(number_float_t /*value*/, const string_t& /*text*/) override { return Scalar(); }
  bool string(string_t& /*value*/) override { return Scalar(); }
  bool binary(binary_t& /*value*/) override { return false; }  // not in JSON text
  bool start_object(std::size_t /*elements*/) override { return Open(); }
  bool key(string_t& /*value*/) override { return Scalar(); }
  bool end_object() override { return Close(); }
  bool start_array(std::size_t /*elements*/) override { return Open(); }
  bool end_array() override { return Close(); }
  bool parse_error(std::size_t /*position*/, const std::string& /*token*/,
                   const Json::exception& /*error*/) override {
    return false;
  }

 private:
  // A scalar (or a key) at the top is refused, as the gateway's strict parse refuses it.
  bool Scalar() {
    if (depth_ == 0) return false;
    if (depth_ == 1) has_elements_ = true;
    return true;
  }
  bool Open() {
    if (depth_ == 1) has_elements_ = true;
    ++depth_;
    return true;
  }
  bool Close() {
    --depth_;
    return true;
  }

  int depth_ = 0;
  bool has_elements_ = false;
};

}  // namespace

absl::StatusOr<JsonShape> CheckJson(absl::string_view text, int max_depth) {
  if (absl::Status nesting = CheckJsonNesting(text, max_depth); !nesting.ok()) return nesting;
  ShapeHandler handler;
  if (!Json::sax_parse(text.begin(), text.end(), &handler, nlohmann::json::input_format_t::json,
                       /*strict=*/true)) {
    return absl::InvalidArgumentError("not a JSON object or array");
  }
  return handler.has_elements() ? JsonShape::kHasElements : JsonShape::kEmpty;
}

}  // namespace byok::json
