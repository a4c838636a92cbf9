// Model references (NAME[:TAG], hf://, URLs, local paths) and where they download from.
#include <algorithm>
#include <cctype>

#include "catalog/catalog.h"
#include "core/error.h"

namespace hearth::catalog {
namespace {

constexpr std::string_view kExpected =
    "expected NAME[:TAG] (e.g. fast-assistant:q8_0), hf://OWNER/REPO/FILE.gguf, an https:// URL "
    "or the path of a .gguf file";

[[noreturn]] void bad(std::string_view text, const std::string& why) {
  throw Error(ErrorKind::invalid_input, "model reference '" + std::string(text) + "': " + why +
                                            "; " + std::string(kExpected));
}

bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool ends_with_gguf(std::string_view s) {
  return s.size() >= 5 && lower(s.substr(s.size() - 5)) == ".gguf";
}

void check_name_part(std::string_view text, std::string_view part, const char* what) {
  if (part.empty()) bad(text, std::string("the ") + what + " is empty");
  if (part.size() > 128) bad(text, std::string("the ") + what + " is longer than 128 characters");
  if (!std::isalnum(static_cast<unsigned char>(part.front())))
    bad(text, std::string("the ") + what + " must start with a letter or digit");
  for (char c : part)
    if (!name_char(c))
      bad(text, std::string("the ") + what + " may hold only letters, digits, '.', '-' and '_'");
}

HuggingFaceRef parse_hf(std::string_view text) {
  std::string_view rest = text.substr(5);
  std::vector<std::string_view> parts;
  while (true) {
    size_t slash = rest.find('/');
    parts.push_back(rest.substr(0, slash));
    if (slash == std::string_view::npos) break;
    rest = rest.substr(slash + 1);
  }
  if (parts.size() < 3) bad(text, "an hf:// reference needs OWNER/REPO/FILE");
  for (auto p : parts) {
    if (p.empty()) bad(text, "it has an empty path segment");
    if (p == "." || p == "..") bad(text, "it may not contain '.' or '..' segments");
    for (char c : p)
      if (static_cast<unsigned char>(c) <= ' ' || c == '?' || c == '#' || c == '\\')
        bad(text, "it contains a space, control character, '?', '#' or '\\'");
  }
  HuggingFaceRef ref;
  ref.repo = std::string(parts[0]) + "/" + std::string(parts[1]);
  for (size_t i = 2; i < parts.size(); ++i) {
    if (i > 2) ref.file += '/';
    ref.file += parts[i];
  }
  if (!ends_with_gguf(ref.file)) bad(text, "the file must be a .gguf file");
  return ref;
}

UrlRef parse_url(std::string_view text) {
  const size_t scheme_end = text.find("://");
  std::string_view after = text.substr(scheme_end + 3);
  const size_t host_end = after.find_first_of("/?#");
  std::string_view host = after.substr(0, host_end);
  if (host.empty() || host.front() == ':' || host.find('@') != std::string_view::npos)
    bad(text, "the URL has no host name");
  for (char c : text)
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7F) bad(text, "the URL contains a space");
  return UrlRef{std::string(text)};
}

}  // namespace

bool names_local_file(std::string_view text) {
  if (text.empty()) return false;
  const std::string low = lower(text.substr(0, std::min<size_t>(text.size(), 8)));
  if (low.rfind("hf://", 0) == 0 || low.rfind("https://", 0) == 0 || low.rfind("http://", 0) == 0)
    return false;
  if (text.find("://") != std::string_view::npos) return false;  // another scheme: refused
  return text.find('/') != std::string_view::npos || ends_with_gguf(text) || text.front() == '~' ||
         text.front() == '.';
}

ModelReference parse_reference(std::string_view text) {
  if (text.empty()) bad(text, "it is empty");
  const std::string low = lower(text.substr(0, std::min<size_t>(text.size(), 8)));
  if (low.rfind("hf://", 0) == 0) return parse_hf(text);
  if (low.rfind("https://", 0) == 0 || low.rfind("http://", 0) == 0) return parse_url(text);
  if (text.find("://") != std::string_view::npos)
    bad(text, "only hf://, https:// and http:// addresses are understood");

  if (names_local_file(text)) {
    std::filesystem::path path(text);
    std::error_code ec;
    if (!std::filesystem::exists(path, ec))
      throw Error(ErrorKind::not_found, "model file '" + std::string(text) +
                                            "' does not exist (a name has no '/' and no .gguf "
                                            "ending; a path must name an existing file)");
    if (!std::filesystem::is_regular_file(path, ec))
      throw Error(ErrorKind::not_found, "'" + std::string(text) + "' is not a regular file");
    return LocalFileRef{std::filesystem::absolute(path)};
  }

  NamedRef ref;
  const size_t colon = text.find(':');
  std::string_view name = text.substr(0, colon);
  ref.name = lower(name);
  check_name_part(text, ref.name, "name");
  if (colon == std::string_view::npos) {
    ref.tag = std::string(kDefaultTag);
  } else {
    std::string_view tag = text.substr(colon + 1);
    if (tag.find(':') != std::string_view::npos) bad(text, "it has more than one ':'");
    ref.tag = lower(tag);
    check_name_part(text, ref.tag, "tag");
    ref.tag_given = true;
  }
  return ref;
}

std::string to_string(const ModelReference& reference) {
  struct Visitor {
    std::string operator()(const NamedRef& r) const { return r.name + ":" + r.tag; }
    std::string operator()(const HuggingFaceRef& r) const {
      return "hf://" + r.repo + "/" + r.file;
    }
    std::string operator()(const UrlRef& r) const { return r.url; }
    std::string operator()(const LocalFileRef& r) const { return r.path.string(); }
  };
  return std::visit(Visitor{}, reference);
}

std::string huggingface_url(std::string_view repo, std::string_view file) {
  std::string out = "https://huggingface.co/" + std::string(repo) + "/resolve/main/";
  static const char* kHex = "0123456789ABCDEF";
  for (char ch : file) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

Download resolve(const Catalog& catalog, const NamedRef& reference) {
  const Model* model = catalog.find(reference.name);
  if (model == nullptr) {
    std::string ids;
    for (const auto& m : catalog.models()) ids += (ids.empty() ? "" : ", ") + m.id;
    throw Error(ErrorKind::not_found,
                "'" + reference.name + "' is not in the catalog; known models: " + ids);
  }
  const Variant* variant =
      reference.tag_given ? model->find_variant(reference.tag) : &model->default_variant();
  if (variant == nullptr) {
    std::string tags;
    for (const auto& v : model->variants) tags += (tags.empty() ? "" : ", ") + v.tag;
    throw Error(ErrorKind::not_found,
                "'" + model->id + "' has no tag '" + reference.tag + "'; its tags are: " + tags);
  }
  Download d;
  d.url = huggingface_url(variant->repo, variant->file);
  d.file_name = variant->file.substr(variant->file.rfind('/') + 1);
  d.size_bytes = variant->size_bytes;
  d.size_estimated = variant->size_estimated;
  d.sha256 = variant->sha256;
  return d;
}

Download resolve(const HuggingFaceRef& reference) {
  Download d;
  d.url = huggingface_url(reference.repo, reference.file);
  d.file_name = reference.file.substr(reference.file.rfind('/') + 1);
  return d;
}

}  // namespace hearth::catalog
