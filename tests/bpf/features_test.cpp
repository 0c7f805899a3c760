// The kernel feature check on this kernel (root: the probes load small programs): the daemon's
// programs, their helpers and maps are all there.
#include <gtest/gtest.h>

#include "kernel/features.hpp"

TEST(KernelFeatures, ThisKernelHasWhatTheProgramsNeed) { EXPECT_NO_THROW(mtuguard::check_kernel_features()); }
