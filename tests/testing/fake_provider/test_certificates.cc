#include "tests/testing/fake_provider/test_certificates.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace byok::testing {
namespace {

struct KeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct CertFree {
  void operator()(X509* p) const { X509_free(p); }
};
struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyFree>;
using CertPtr = std::unique_ptr<X509, CertFree>;
using BioPtr = std::unique_ptr<BIO, BioFree>;

constexpr long kValiditySeconds = 24 * 60 * 60;

absl::Status OpenSslError(const char* step) {
  return absl::InternalError(absl::StrCat("test certificates: ", step, " failed"));
}

// Adds one X509v3 extension given in OpenSSL's config syntax.
absl::Status AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) return OpenSslError("extension");
  int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  return ok == 1 ? absl::OkStatus() : OpenSslError("add extension");
}

// Makes a certificate for `key` named `common_name`, signed by `issuer_key` (self-signed when
// `issuer` is null).
absl::StatusOr<CertPtr> MakeCertificate(EVP_PKEY* key, const std::string& common_name,
                                        X509* issuer, EVP_PKEY* issuer_key, bool is_ca,
                                        const std::string& subject_alt_names) {
  CertPtr cert(X509_new());
  if (!cert) return OpenSslError("X509_new");
  X509_set_version(cert.get(), 2);
  unsigned char serial_bytes[16];
  if (RAND_bytes(serial_bytes, sizeof(serial_bytes)) != 1) return OpenSslError("serial");
  serial_bytes[0] &= 0x7f;  // positive
  BIGNUM* serial = BN_bin2bn(serial_bytes, sizeof(serial_bytes), nullptr);
  BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert.get()));
  BN_free(serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), kValiditySeconds);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                             0);
  X509* signer = issuer != nullptr ? issuer : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
  if (is_ca) {
    if (auto s = AddExtension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
        !s.ok())
      return s;
    if (auto s = AddExtension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
        !s.ok())
      return s;
    if (auto s = AddExtension(cert.get(), signer, NID_subject_key_identifier, "hash"); !s.ok())
      return s;
  } else {
    if (auto s = AddExtension(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
        !s.ok())
      return s;
    if (auto s = AddExtension(cert.get(), signer, NID_ext_key_usage, "serverAuth"); !s.ok())
      return s;
    if (auto s = AddExtension(cert.get(), signer, NID_subject_alt_name, subject_alt_names);
        !s.ok())
      return s;
    if (auto s = AddExtension(cert.get(), signer, NID_authority_key_identifier, "keyid:always");
        !s.ok())
      return s;
  }
  if (X509_sign(cert.get(), issuer_key, EVP_sha256()) == 0) return OpenSslError("sign");
  return cert;
}

absl::StatusOr<std::string> BioText(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  if (len <= 0 || data == nullptr) return OpenSslError("PEM");
  return std::string(data, static_cast<size_t>(len));
}

absl::StatusOr<std::string> CertPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) return OpenSslError("PEM_write_bio_X509");
  return BioText(bio.get());
}

absl::StatusOr<std::string> KeyPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return OpenSslError("PEM_write_bio_PrivateKey");
  return BioText(bio.get());
}

}  // namespace

absl::StatusOr<TestCertificates> MakeTestCertificates(
    const std::vector<std::string>& dns_names, const std::vector<std::string>& ip_addresses) {
  KeyPtr ca_key(EVP_EC_gen("P-256"));
  KeyPtr server_key(EVP_EC_gen("P-256"));
  if (!ca_key || !server_key) return OpenSslError("EVP_EC_gen");

  auto ca = MakeCertificate(ca_key.get(), "byok-relay test CA", nullptr, ca_key.get(), true, "");
  if (!ca.ok()) return ca.status();

  std::vector<std::string> names;
  for (const auto& d : dns_names) names.push_back(absl::StrCat("DNS:", d));
  for (const auto& ip : ip_addresses) names.push_back(absl::StrCat("IP:", ip));
  std::string cn = dns_names.empty() ? "byok-relay test server" : dns_names.front();
  auto server = MakeCertificate(server_key.get(), cn, ca->get(), ca_key.get(), false,
                                absl::StrJoin(names, ","));
  if (!server.ok()) return server.status();

  TestCertificates out;
  auto ca_pem = CertPem(ca->get());
  auto cert_pem = CertPem(server->get());
  auto key_pem = KeyPem(server_key.get());
  if (!ca_pem.ok()) return ca_pem.status();
  if (!cert_pem.ok()) return cert_pem.status();
  if (!key_pem.ok()) return key_pem.status();
  out.ca_pem = *std::move(ca_pem);
  out.cert_pem = *std::move(cert_pem);
  out.key_pem = *std::move(key_pem);
  return out;
}

}  // namespace byok::testing
