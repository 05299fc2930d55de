package dev.kiln.monitor.kvm;

import dev.kiln.monitor.KvmAvailable;
import dev.kiln.monitor.hvt.GuestMemory;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * KVM_CREATE_VM gives up with EINTR when a signal reaches the creating thread while it registers
 * the VM's MMU notifier (mm_take_all_locks walks every mapping of the process, checking for
 * signals): {@link Kvm#createVm} makes it again instead of failing.
 */
class KvmCreateVmTest {
    @Test
    void createsSurviveSignalsToTheCreatingThread() throws Exception {
        KvmAvailable.require();
        try (Kvm kvm = Kvm.open()) {
            // Mappings make the walk long enough for signals to land inside it.
            List<GuestMemory> ballast = new ArrayList<>();
            List<Vm> vms = new ArrayList<>();
            AtomicInteger creatorTid = new AtomicInteger();
            AtomicBoolean done = new AtomicBoolean();
            AtomicInteger signals = new AtomicInteger();
            Thread signaller = Thread.ofPlatform().start(() -> {
                while (!done.get()) {
                    int tid = creatorTid.get();
                    // SIGXFSZ: HotSpot's handler ignores it (the monitor's own vCPU kick).
                    if (tid != 0 && LibC.tgkill(LibC.getpid(), tid, LibC.SIGXFSZ) == 0) signals.incrementAndGet();
                    Thread.onSpinWait();
                }
            });
            try {
                for (int i = 0; i < 2000; i++) ballast.add(GuestMemory.allocate(GuestMemory.MIN_SIZE));
                creatorTid.set(LibC.gettid());
                for (int i = 0; i < 300; i++) vms.add(kvm.createVm()); // threw KvmException (EINTR) before
            } finally {
                done.set(true);
                signaller.join();
                for (Vm vm : vms) vm.close();
                for (GuestMemory m : ballast) m.close();
            }
            assertTrue(signals.get() > 300, "the creating thread was signalled throughout: " + signals.get());
        }
    }
}
