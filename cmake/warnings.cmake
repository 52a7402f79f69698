# Warnings are errors everywhere in our own code.
add_library(pinet_warnings INTERFACE)
target_compile_options(pinet_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align
  -Wunused -Woverloaded-virtual -Wnull-dereference -Wformat=2 -Werror)
# Bounds checks in the standard library (operator[] on vector/span/string).
target_compile_definitions(pinet_warnings INTERFACE _GLIBCXX_ASSERTIONS)

# The asan preset turns on both: one clang build runs the tests under ASan +
# UBSan and links the libFuzzer targets from the same objects (CI time on 2
# cores: one sanitizer build instead of two). The coverage hooks that
# fuzzer-no-link adds are no-ops in the test programs (the sanitizer runtime
# has their default definitions).
if(PINET_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
if(PINET_FUZZ)
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
