# Warnings are errors everywhere in our own code.
add_library(pinet_warnings INTERFACE)
target_compile_options(pinet_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align
  -Wunused -Woverloaded-virtual -Wnull-dereference -Wformat=2 -Werror)
# Bounds checks in the standard library (operator[] on vector/span/string).
target_compile_definitions(pinet_warnings INTERFACE _GLIBCXX_ASSERTIONS)

if(PINET_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
if(PINET_FUZZ)
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
