#include "io/crypto.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include <limits>

#include <fmt/format.h>

#include "io/file.h"
#include "proto/hex.h"

namespace pinet::io {

namespace {

struct MdCtxDeleter {
    void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct PkeyCtxDeleter {
    void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct DecoderCtxDeleter {
    void operator()(OSSL_DECODER_CTX* p) const { OSSL_DECODER_CTX_free(p); }
};
struct BnDeleter {
    void operator()(BIGNUM* p) const { BN_free(p); }
};
struct ParamBldDeleter {
    void operator()(OSSL_PARAM_BLD* p) const { OSSL_PARAM_BLD_free(p); }
};
struct ParamDeleter {
    void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};
using BnPtr = std::unique_ptr<BIGNUM, BnDeleter>;

/// The most recent OpenSSL error as text (and clears the queue).
std::string lastOpensslError() {
    unsigned long code = ERR_peek_last_error();
    ERR_clear_error();
    if (code == 0) {
        return "unknown OpenSSL error";
    }
    std::array<char, 256> buf{};
    ERR_error_string_n(code, buf.data(), buf.size());
    return buf.data();
}

std::vector<std::uint8_t> bnParam(EVP_PKEY* key, const char* name) {
    BIGNUM* raw = nullptr;
    if (EVP_PKEY_get_bn_param(key, name, &raw) != 1) {
        ERR_clear_error();
        return {};
    }
    BnPtr bn(raw);
    std::vector<std::uint8_t> out(static_cast<std::size_t>(BN_num_bytes(bn.get())));
    BN_bn2bin(bn.get(), out.data());
    return out;
}

}  // namespace

Sha256Digest sha256(std::span<const std::uint8_t> data) {
    Sha256Digest md{};
    unsigned int len = 0;
    EVP_Digest(data.data(), data.size(), md.data(), &len, EVP_sha256(), nullptr);
    return md;
}

std::string sha256Hex(std::span<const std::uint8_t> data) {
    return proto::toHex(sha256(data));
}

void Sha256Stream::CtxDeleter::operator()(evp_md_ctx_st* c) const {
    EVP_MD_CTX_free(c);
}

Sha256Stream::Sha256Stream() : ctx_(EVP_MD_CTX_new()) {
    // Never throws (it runs on the probe's HTTP threads): a stream that could not start
    // hashes nothing and finishes with an all-zero digest, which no .sig matches.
    if (ctx_ && EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1) {
        ctx_.reset();
        ERR_clear_error();
    }
}

void Sha256Stream::update(std::span<const std::uint8_t> data) {
    if (ctx_ && EVP_DigestUpdate(ctx_.get(), data.data(), data.size()) != 1) {
        ctx_.reset();
        ERR_clear_error();
    }
}

Sha256Digest Sha256Stream::finish() {
    Sha256Digest md{};
    unsigned int len = 0;
    if (!ctx_ || EVP_DigestFinal_ex(ctx_.get(), md.data(), &len) != 1) {
        md.fill(0);
        ERR_clear_error();
    }
    ctx_.reset();
    return md;
}

bool equalConstantTime(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

void RsaKey::PkeyDeleter::operator()(evp_pkey_st* p) const {
    EVP_PKEY_free(p);
}

Result<RsaKey> RsaKey::loadPem(std::span<const std::uint8_t> pem, std::string_view what,
                               unsigned requiredBits) {
    EVP_PKEY* raw = nullptr;
    // selection 0 = any of private key, public key, parameters; structure auto-detected.
    std::unique_ptr<OSSL_DECODER_CTX, DecoderCtxDeleter> dctx(
        OSSL_DECODER_CTX_new_for_pkey(&raw, "PEM", nullptr, "RSA", 0, nullptr, nullptr));
    if (!dctx) {
        return fail(fmt::format("{}: cannot set up PEM decoder: {}", what, lastOpensslError()));
    }
    const unsigned char* p = pem.data();
    std::size_t len = pem.size();
    if (OSSL_DECODER_from_data(dctx.get(), &p, &len) != 1 || raw == nullptr) {
        ERR_clear_error();
        return fail(fmt::format("{}: not a PEM RSA key", what));
    }
    RsaKey key{PkeyPtr(raw)};
    if (requiredBits != 0 && key.bits() != requiredBits) {
        return fail(fmt::format("{}: RSA key size must be {} (this key has {} bits)", what,
                                requiredBits, key.bits()));
    }
    return key;
}

Result<RsaKey> RsaKey::loadPemFile(const std::filesystem::path& path, unsigned requiredBits) {
    auto bytes = readFile(path);
    if (!bytes) {
        return tl::unexpected(bytes.error());
    }
    return loadPem(*bytes, path.string(), requiredBits);
}

Result<RsaKey> RsaKey::fromPublicNumbers(std::span<const std::uint8_t> modulusBe,
                                         std::span<const std::uint8_t> exponentBe) {
    BnPtr n(BN_bin2bn(modulusBe.data(), static_cast<int>(modulusBe.size()), nullptr));
    BnPtr e(BN_bin2bn(exponentBe.data(), static_cast<int>(exponentBe.size()), nullptr));
    std::unique_ptr<OSSL_PARAM_BLD, ParamBldDeleter> bld(OSSL_PARAM_BLD_new());
    if (!n || !e || !bld ||
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) != 1) {
        return fail("cannot build RSA parameters: " + lastOpensslError());
    }
    std::unique_ptr<OSSL_PARAM, ParamDeleter> params(OSSL_PARAM_BLD_to_param(bld.get()));
    std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter> ctx(
        EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
    EVP_PKEY* raw = nullptr;
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
        EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
        return fail("cannot build RSA public key: " + lastOpensslError());
    }
    return RsaKey{PkeyPtr(raw)};
}

unsigned RsaKey::bits() const {
    return static_cast<unsigned>(EVP_PKEY_get_bits(key_.get()));
}

bool RsaKey::hasPrivate() const {
    return !bnParam(key_.get(), OSSL_PKEY_PARAM_RSA_D).empty();
}

std::vector<std::uint8_t> RsaKey::modulus() const {
    return bnParam(key_.get(), OSSL_PKEY_PARAM_RSA_N);
}

std::vector<std::uint8_t> RsaKey::publicExponent() const {
    return bnParam(key_.get(), OSSL_PKEY_PARAM_RSA_E);
}

Result<std::vector<std::uint8_t>> RsaKey::sign(std::span<const std::uint8_t> data) const {
    if (!hasPrivate()) {
        return fail("cannot sign with a public key");
    }
    std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
    EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
    if (!ctx || EVP_DigestSignInit(ctx.get(), &pctx, EVP_sha256(), nullptr, key_.get()) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) {
        return fail("RSA sign setup failed: " + lastOpensslError());
    }
    std::size_t len = 0;
    if (EVP_DigestSign(ctx.get(), nullptr, &len, data.data(), data.size()) != 1) {
        return fail("RSA sign failed: " + lastOpensslError());
    }
    std::vector<std::uint8_t> sig(len);
    if (EVP_DigestSign(ctx.get(), sig.data(), &len, data.data(), data.size()) != 1) {
        return fail("RSA sign failed: " + lastOpensslError());
    }
    sig.resize(len);
    return sig;
}

bool RsaKey::verify(std::span<const std::uint8_t> data,
                    std::span<const std::uint8_t> signature) const {
    std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
    EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
    if (!ctx || EVP_DigestVerifyInit(ctx.get(), &pctx, EVP_sha256(), nullptr, key_.get()) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) {
        ERR_clear_error();
        return false;
    }
    int rc =
        EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), data.data(), data.size());
    ERR_clear_error();
    return rc == 1;
}

bool RsaKey::verifyDigest(const Sha256Digest& digest,
                          std::span<const std::uint8_t> signature) const {
    // EVP_PKEY_verify over the digest: the same PKCS#1 v1.5 check with the hash given.
    std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter> ctx(EVP_PKEY_CTX_new(key_.get(), nullptr));
    if (!ctx || EVP_PKEY_verify_init(ctx.get()) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) != 1 ||
        EVP_PKEY_CTX_set_signature_md(ctx.get(), EVP_sha256()) != 1) {
        ERR_clear_error();
        return false;
    }
    const int rc = EVP_PKEY_verify(ctx.get(), signature.data(), signature.size(), digest.data(),
                                   digest.size());
    ERR_clear_error();
    return rc == 1;
}

Result<std::string> randomHex(std::size_t n) {
    std::vector<std::uint8_t> bytes(n);
    if (n > static_cast<std::size_t>(std::numeric_limits<int>::max()) ||
        RAND_bytes(bytes.data(), static_cast<int>(n)) != 1) {
        const char* why = ERR_reason_error_string(ERR_get_error());
        return fail(fmt::format("random bytes: OpenSSL RAND_bytes failed: {}",
                                why != nullptr ? why : "no reason given"));
    }
    return proto::toHex(bytes);
}

}  // namespace pinet::io
