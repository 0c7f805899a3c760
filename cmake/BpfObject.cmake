# bpf_object(NAME SOURCE): compiles SOURCE for the BPF target and generates its skeleton with
# bpftool. Yields the target NAME_skel, an INTERFACE library whose include directory holds
# NAME.skel.h and which links libbpf. Header dependencies come from clang's depfile.

find_program(BPF_CLANG NAMES clang REQUIRED)
find_program(BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin REQUIRED)

set(BPF_CFLAGS -O2 -g -target bpf -Wall -Wextra -Werror -Wno-unused-parameter
    -D__TARGET_ARCH_x86
    -I${CMAKE_SOURCE_DIR}/bpf
    -I/usr/include/${CMAKE_LIBRARY_ARCHITECTURE})

function(bpf_object name source)
  set(out_dir ${CMAKE_BINARY_DIR}/bpf)
  set(object ${out_dir}/${name}.bpf.o)
  set(skeleton ${out_dir}/${name}.skel.h)
  file(MAKE_DIRECTORY ${out_dir})
  add_custom_command(
    OUTPUT ${object}
    COMMAND ${BPF_CLANG} ${BPF_CFLAGS} -MD -MF ${object}.d
            -c ${CMAKE_CURRENT_SOURCE_DIR}/${source} -o ${object}
    DEPFILE ${object}.d
    DEPENDS ${source}
    COMMENT "BPF ${source}"
    VERBATIM)
  add_custom_command(
    OUTPUT ${skeleton}
    COMMAND ${BPFTOOL} gen skeleton ${object} name ${name}_bpf > ${skeleton}
    DEPENDS ${object}
    COMMENT "skeleton ${name}.skel.h"
    VERBATIM)
  add_custom_target(${name}_skel_gen DEPENDS ${skeleton} ${object})
  add_library(${name}_skel INTERFACE)
  add_dependencies(${name}_skel ${name}_skel_gen)
  target_include_directories(${name}_skel INTERFACE ${out_dir} ${CMAKE_SOURCE_DIR}/bpf)
  target_link_libraries(${name}_skel INTERFACE PkgConfig::LIBBPF)
endfunction()
