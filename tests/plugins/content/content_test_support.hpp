// Inputs the content.extract tests build: real zip files (libzip, or written byte by byte
// for bombs whose headers a library would not write), and running the generator.
#pragma once

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <zip.h>
#include <zlib.h>

#include <gen/sdk/testing.hpp>
#include <nlohmann/json.hpp>

#include "extract_generator.hpp"

namespace gen::content::test {

using Entries = std::vector<std::pair<std::string, std::string>>;

/// A zip of `entries` (name, bytes), deflated, made by libzip in memory.
inline std::string make_zip(const Entries& entries) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* buffer = zip_source_buffer_create(nullptr, 0, 0, &error);
  if (buffer == nullptr) throw std::runtime_error("zip_source_buffer_create failed");
  zip_source_keep(buffer);
  zip_t* archive = zip_open_from_source(buffer, ZIP_TRUNCATE, &error);
  if (archive == nullptr) throw std::runtime_error("zip_open_from_source failed");
  for (const auto& [name, data] : entries) {
    zip_source_t* source = zip_source_buffer(archive, data.data(), data.size(), 0);
    if (source == nullptr || zip_file_add(archive, name.c_str(), source, ZIP_FL_ENC_UTF_8) < 0) {
      throw std::runtime_error("zip_file_add failed: " + name);
    }
  }
  if (zip_close(archive) != 0) throw std::runtime_error("zip_close failed");
  std::string out;
  if (zip_source_open(buffer) != 0) throw std::runtime_error("zip_source_open failed");
  char chunk[65536];
  for (zip_int64_t n; (n = zip_source_read(buffer, chunk, sizeof(chunk))) > 0;) {
    out.append(chunk, static_cast<std::size_t>(n));
  }
  zip_source_close(buffer);
  zip_source_free(buffer);
  zip_error_fini(&error);
  return out;
}

/// One entry of a hand-written zip: its bytes as stored, and what the headers declare.
struct RawEntry {
  std::string name;
  std::string stored;        ///< the bytes in the archive (deflated when method 8)
  std::uint16_t method = 0;  ///< 0 stored, 8 deflated
  std::uint32_t crc = 0;
  std::uint32_t declared_size;  ///< the uncompressed size the headers claim
};

/// A stored entry whose headers tell the truth.
inline RawEntry stored_entry(std::string name, std::string data) {
  const auto crc = static_cast<std::uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
  const auto size = static_cast<std::uint32_t>(data.size());
  return RawEntry{std::move(name), std::move(data), 0, crc, size};
}

/// A zip written byte by byte (APPNOTE 4.3: local headers, data, central directory, end
/// record), for bombs: sizes below 4 GiB, no ZIP64.
inline std::string write_raw_zip(const std::vector<RawEntry>& entries) {
  std::string out;
  auto u16 = [&](std::uint32_t v) {
    out += static_cast<char>(v & 0xFF);
    out += static_cast<char>((v >> 8) & 0xFF);
  };
  auto u32 = [&](std::uint32_t v) {
    u16(v & 0xFFFF);
    u16(v >> 16);
  };
  std::vector<std::uint32_t> offsets;
  for (const RawEntry& e : entries) {
    offsets.push_back(static_cast<std::uint32_t>(out.size()));
    u32(0x04034b50);
    u16(20), u16(0), u16(e.method), u16(0), u16(0x21);  // version, flags, method, time, date
    u32(e.crc), u32(static_cast<std::uint32_t>(e.stored.size())), u32(e.declared_size);
    u16(static_cast<std::uint32_t>(e.name.size())), u16(0);
    out += e.name;
    out += e.stored;
  }
  const auto directory = static_cast<std::uint32_t>(out.size());
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const RawEntry& e = entries[i];
    u32(0x02014b50);
    u16(20), u16(20), u16(0), u16(e.method), u16(0), u16(0x21);
    u32(e.crc), u32(static_cast<std::uint32_t>(e.stored.size())), u32(e.declared_size);
    u16(static_cast<std::uint32_t>(e.name.size())), u16(0), u16(0), u16(0), u16(0);
    u32(0), u32(offsets[i]);
    out += e.name;
  }
  const auto directory_size = static_cast<std::uint32_t>(out.size()) - directory;
  u32(0x06054b50);
  u16(0), u16(0), u16(static_cast<std::uint32_t>(entries.size())),
      u16(static_cast<std::uint32_t>(entries.size()));
  u32(directory_size), u32(directory), u16(0);
  return out;
}

/// A raw deflate stream of `mib` MiB of zeros, and its CRC-32, built in milliseconds:
/// after Z_FULL_FLUSH the compressor starts afresh, so the compressed form of one MiB of
/// zeros is the same bytes every time and is repeated rather than recomputed (deflating
/// 4 GiB would take seconds). mib >= 3.
inline std::string deflated_zeros(std::uint32_t mib, std::uint32_t& crc) {
  constexpr std::size_t kMiB = std::size_t{1} << 20;
  std::vector<unsigned char> zeros(kMiB, 0);
  z_stream stream{};
  deflateInit2(&stream, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY);
  auto compress = [&](int flush) {
    std::string out;
    stream.next_in = zeros.data();
    stream.avail_in = static_cast<uInt>(zeros.size());
    unsigned char buffer[16384];
    do {
      stream.next_out = buffer;
      stream.avail_out = sizeof(buffer);
      deflate(&stream, flush);
      out.append(reinterpret_cast<char*>(buffer), sizeof(buffer) - stream.avail_out);
    } while (stream.avail_out == 0);
    return out;
  };
  const std::string first = compress(Z_FULL_FLUSH);
  const std::string middle = compress(Z_FULL_FLUSH);
  const std::string last = compress(Z_FINISH);
  deflateEnd(&stream);
  std::string out = first;
  out.reserve(first.size() + middle.size() * mib + last.size());
  for (std::uint32_t i = 2; i < mib; ++i) out += middle;
  out += last;
  const uLong one = crc32(0, zeros.data(), static_cast<uInt>(zeros.size()));
  uLong all = one;
  for (std::uint32_t i = 1; i < mib; ++i) all = crc32_combine(all, one, kMiB);
  crc = static_cast<std::uint32_t>(all);
  return out;
}

/// A deflated entry of `mib` MiB of zeros; its headers declare `declared_size` (the truth
/// when 0).
inline RawEntry zeros_entry(std::string name, std::uint32_t mib, std::uint32_t declared_size = 0) {
  RawEntry entry;
  entry.name = std::move(name);
  entry.method = 8;
  entry.stored = deflated_zeros(mib, entry.crc);
  entry.declared_size = declared_size != 0 ? declared_size : mib * (std::uint32_t{1} << 20);
  return entry;
}

/// Runs content.extract on one input; returns the status.
inline gen::sdk::Status run_extract(gen::sdk::testing::FakeContext& context) {
  ExtractGenerator generator;
  return context.run(generator);
}

/// The parsed segments.json (fails the test through an exception when there is none).
inline nlohmann::json segments_json(const gen::sdk::testing::FakeContext& context) {
  return nlohmann::json::parse(context.output_data("segments.json"));
}

}  // namespace gen::content::test
