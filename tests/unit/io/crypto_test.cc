#include "io/crypto.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "lib/test_env.h"
#include "proto/eeprom/sig.h"
#include "proto/hex.h"

namespace pinet::io {
namespace {

std::vector<std::uint8_t> load(const char* file) {
    return test::readAll(test::eepromTestData() / file);
}

TEST(CryptoTest, Sha256KnownValue) {
    EXPECT_EQ(sha256Hex(load("boot.conf")),
              "136d7350a54629c2b0b0426e588c81a9f3d53d281735c2109af3914432b2f155");
    EXPECT_EQ(sha256Hex({}), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(CryptoTest, SignReproducesBootRsaSig) {
    auto key = RsaKey::loadPemFile(test::eepromTestData() / "test-key-shared.private.pem");
    ASSERT_TRUE(key) << key.error().message;
    EXPECT_EQ(key->bits(), 2048u);
    EXPECT_TRUE(key->hasPrivate());
    auto sig = key->sign(load("boot.conf"));
    ASSERT_TRUE(sig) << sig.error().message;
    auto sigText = load("boot.rsa.sig");
    auto parsed = proto::eeprom::parseSig(std::string(sigText.begin(), sigText.end()));
    ASSERT_TRUE(parsed);
    EXPECT_EQ(*sig, *parsed->rsa2048);
}

TEST(CryptoTest, VerifyAcceptsGoodAndRejectsFlippedByte) {
    auto pub = RsaKey::loadPemFile(test::eepromTestData() / "test-key-shared.public.pem");
    ASSERT_TRUE(pub) << pub.error().message;
    EXPECT_FALSE(pub->hasPrivate());
    EXPECT_FALSE(pub->sign(std::vector<std::uint8_t>{1}));
    auto sigText = load("boot.rsa.sig");
    auto parsed = proto::eeprom::parseSig(std::string(sigText.begin(), sigText.end()));
    ASSERT_TRUE(parsed);
    auto data = load("boot.conf");
    EXPECT_TRUE(pub->verify(data, *parsed->rsa2048));
    auto bad = data;
    bad[10] ^= 1;
    EXPECT_FALSE(pub->verify(bad, *parsed->rsa2048));
    auto badSig = *parsed->rsa2048;
    badSig[100] ^= 0x80;
    EXPECT_FALSE(pub->verify(data, badSig));
    EXPECT_FALSE(pub->verify(data, std::vector<std::uint8_t>(10, 0)));
}

TEST(CryptoTest, Sha256StreamInPiecesEqualsTheWhole) {
    const auto data = load("boot.conf");
    Sha256Stream st;
    // Uneven pieces, an empty one among them.
    std::size_t off = 0;
    for (std::size_t piece : {std::size_t{1}, std::size_t{0}, std::size_t{63}, std::size_t{700}}) {
        const std::size_t n = std::min(piece, data.size() - off);
        st.update(std::span(data).subspan(off, n));
        off += n;
    }
    st.update(std::span(data).subspan(off));
    EXPECT_EQ(st.finish(), sha256(data));
    EXPECT_EQ(proto::toHex(Sha256Stream().finish()),
              "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(CryptoTest, VerifyDigestAgreesWithVerify) {
    auto pub = RsaKey::loadPemFile(test::eepromTestData() / "test-key-shared.public.pem");
    ASSERT_TRUE(pub) << pub.error().message;
    auto sigText = load("boot.rsa.sig");
    auto parsed = proto::eeprom::parseSig(std::string(sigText.begin(), sigText.end()));
    ASSERT_TRUE(parsed);
    const auto data = load("boot.conf");
    EXPECT_TRUE(pub->verifyDigest(sha256(data), *parsed->rsa2048));
    auto bad = data;
    bad[10] ^= 1;
    EXPECT_FALSE(pub->verifyDigest(sha256(bad), *parsed->rsa2048));
    auto badSig = *parsed->rsa2048;
    badSig[100] ^= 0x80;
    EXPECT_FALSE(pub->verifyDigest(sha256(data), badSig));
}

TEST(CryptoTest, PublicNumbersMatchPubkeyBin) {
    auto key = RsaKey::loadPemFile(test::eepromTestData() / "test-key-shared.private.pem");
    ASSERT_TRUE(key);
    auto bin = load("test-key-shared.pubkey.bin");
    auto n = key->modulus();
    ASSERT_EQ(n.size(), 256u);
    EXPECT_TRUE(std::equal(n.rbegin(), n.rend(), bin.begin()));
    EXPECT_EQ(proto::toHex(key->publicExponent()), "010001");
    // And back: a key built from the numbers verifies the real signature.
    auto rebuilt = RsaKey::fromPublicNumbers(n, key->publicExponent());
    ASSERT_TRUE(rebuilt) << rebuilt.error().message;
    auto sig = key->sign(load("boot.conf"));
    ASSERT_TRUE(sig);
    EXPECT_TRUE(rebuilt->verify(load("boot.conf"), *sig));
}

std::string pemOfNewKey(unsigned bits) {
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> k(EVP_RSA_gen(bits), EVP_PKEY_free);
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
    PEM_write_bio_PrivateKey(bio.get(), k.get(), nullptr, nullptr, 0, nullptr, nullptr);
    char* p = nullptr;
    long len = BIO_get_mem_data(bio.get(), &p);
    return std::string(p, static_cast<std::size_t>(len));
}

TEST(CryptoTest, WrongKeySizeIsReported) {
    const std::string pem = pemOfNewKey(1024);
    std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(pem.data()),
                                        pem.size());
    auto k = RsaKey::loadPem(bytes, "small.pem");
    ASSERT_FALSE(k);
    EXPECT_NE(k.error().message.find("small.pem: RSA key size must be 2048"), std::string::npos);
    auto any = RsaKey::loadPem(bytes, "small.pem", 0);
    ASSERT_TRUE(any);
    EXPECT_EQ(any->bits(), 1024u);
}

TEST(CryptoTest, GarbageAndMissingFilesAreErrors) {
    const std::string junk = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";
    auto k = RsaKey::loadPem({reinterpret_cast<const std::uint8_t*>(junk.data()), junk.size()},
                             "junk.pem");
    ASSERT_FALSE(k);
    EXPECT_EQ(k.error().message, "junk.pem: not a PEM RSA key");
    auto missing = RsaKey::loadPemFile("/nonexistent/key.pem");
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().message.find("/nonexistent/key.pem"), std::string::npos);
}

}  // namespace
}  // namespace pinet::io
