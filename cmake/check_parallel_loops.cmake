# Fails the build when a source under src/garden/ uses at::parallel_for / at::parallel_reduce or
# an OpenMP pragma outside the files built with -fopenmp. Those functions keep their OpenMP
# pragma in a libtorch header, compiled where they are called, and garden's libtorch sources
# are built without -fopenmp (they share one precompiled header): such a loop silently runs on
# one thread. Loops over threads belong in the libtorch-free kernel files below, which
# src/garden/CMakeLists.txt builds with OpenMP. Run as
#   cmake -DSOURCE_DIR=<src/garden> -P check_parallel_loops.cmake
cmake_minimum_required(VERSION 3.18)  # IN_LIST
set(built_with_openmp model/decode_kernels.cpp model/training_kernels.cpp model/thread_tasks.cpp train/adamw_kernel.cpp)

set(violations "")
file(GLOB_RECURSE files RELATIVE ${SOURCE_DIR} ${SOURCE_DIR}/*.h ${SOURCE_DIR}/*.cpp)
foreach(file IN LISTS files)
  if(file IN_LIST built_with_openmp)
    continue()
  endif()
  file(STRINGS ${SOURCE_DIR}/${file} uses REGEX "parallel_for *\\(|parallel_reduce *\\(|^ *#pragma omp")
  foreach(line IN LISTS uses)
    string(STRIP "${line}" line)
    string(APPEND violations "\n  src/garden/${file}: ${line}")
  endforeach()
endforeach()
if(violations)
  message(FATAL_ERROR "parallel loops in files built without OpenMP (they would run on one thread; "
                      "move them to a file listed in cmake/check_parallel_loops.cmake):${violations}")
endif()
