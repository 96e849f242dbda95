#include "agent/capture/elf_symbols.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <set>

#include "agent/common/errors.h"
#include "agent/common/strings.h"

namespace rampart::capture {
namespace {

struct ElfFile {
  int fd = -1;
  Elf* elf = nullptr;
  ~ElfFile() {
    if (elf) elf_end(elf);
    if (fd >= 0) close(fd);
  }
};

// A symbol's virtual address -> file offset, through the segment holding it.
bool AddressToOffset(Elf* elf, uint64_t address, uint64_t* offset) {
  size_t count = 0;
  if (elf_getphdrnum(elf, &count) != 0) return false;
  for (size_t i = 0; i < count; ++i) {
    GElf_Phdr phdr;
    if (!gelf_getphdr(elf, static_cast<int>(i), &phdr) || phdr.p_type != PT_LOAD || !(phdr.p_flags & PF_X)) continue;
    if (address >= phdr.p_vaddr && address < phdr.p_vaddr + phdr.p_memsz) {
      *offset = address - phdr.p_vaddr + phdr.p_offset;
      return true;
    }
  }
  return false;
}

}  // namespace

absl::StatusOr<std::map<std::string, uint64_t>> FindFunctions(const std::string& path,
                                                              const std::vector<std::string>& names) {
  if (elf_version(EV_CURRENT) == EV_NONE) return absl::InternalError("libelf: version mismatch");
  ElfFile file;
  file.fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (file.fd < 0) return ErrnoError(errno, "open " + path);
  file.elf = elf_begin(file.fd, ELF_C_READ, nullptr);
  if (!file.elf || elf_kind(file.elf) != ELF_K_ELF) {
    return absl::InvalidArgumentError(rampart::StrCat(path, ": not an ELF file"));
  }
  const std::set<std::string> wanted(names.begin(), names.end());
  std::map<std::string, uint64_t> found;
  Elf_Scn* section = nullptr;
  while ((section = elf_nextscn(file.elf, section)) != nullptr) {
    GElf_Shdr header;
    if (!gelf_getshdr(section, &header) || (header.sh_type != SHT_SYMTAB && header.sh_type != SHT_DYNSYM)) continue;
    Elf_Data* data = elf_getdata(section, nullptr);
    if (!data || header.sh_entsize == 0) continue;
    const size_t symbols = header.sh_size / header.sh_entsize;
    for (size_t i = 0; i < symbols; ++i) {
      GElf_Sym symbol;
      if (!gelf_getsym(data, static_cast<int>(i), &symbol)) continue;
      if (GELF_ST_TYPE(symbol.st_info) != STT_FUNC || symbol.st_shndx == SHN_UNDEF || symbol.st_value == 0) continue;
      const char* name = elf_strptr(file.elf, header.sh_link, symbol.st_name);
      if (!name) continue;
      // Versioned names ("SSL_write@@OPENSSL_3.0.0") appear in some tables.
      std::string base(name);
      if (auto at = base.find('@'); at != std::string::npos) base.resize(at);
      if (!wanted.contains(base) || found.contains(base)) continue;
      uint64_t offset = 0;
      if (AddressToOffset(file.elf, symbol.st_value, &offset)) found[base] = offset;
    }
  }
  return found;
}

}  // namespace rampart::capture
