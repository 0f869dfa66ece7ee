// Starts the gcloud Firestore emulator on a free loopback port and stops it again, leaving no
// process behind. The launcher is a bash script that runs java as a child (no exec), so the
// emulator runs in its own process group and is stopped by group id after /shutdown.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import net from "node:net";

export const emulatorBinary =
    process.env.FIRESTORE_EMULATOR_BINARY ?? "/usr/lib/google-cloud-sdk/platform/cloud-firestore-emulator/cloud_firestore_emulator";

const host = "127.0.0.1";

function freePort() {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.unref();
        server.on("error", reject);
        server.listen(0, host, () => {
            const { port } = server.address();
            server.close(() => resolve(port));
        });
    });
}

// Ready means: our own process announced it is serving, and the port answers. The announcement
// matters on a shared machine: if another process grabbed the port first, its emulator would
// answer `Ok` too, and we would end up using (and shutting down) someone else's emulator.
async function waitReady(port, child, output, timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
        if (child.exitCode !== null || child.signalCode !== null) {
            throw new Error(`Firestore emulator exited early (${child.exitCode ?? child.signalCode})`);
        }
        if (output().includes("Dev App Server is now running")) {
            try {
                const res = await fetch(`http://${host}:${port}/`);
                if (res.ok && (await res.text()).trim() === "Ok") {
                    return;
                }
            } catch {
                // not answering yet
            }
        }
        await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`Firestore emulator not ready on ${host}:${port} after ${timeoutMs} ms`);
}

function groupAlive(pgid) {
    try {
        process.kill(-pgid, 0);
        return true;
    } catch {
        return false;
    }
}

export async function startEmulator({ timeoutMs = 60_000, attempts = 3 } = {}) {
    if (!existsSync(emulatorBinary)) {
        throw new Error(`Firestore emulator not found at ${emulatorBinary}`);
    }
    let lastError;
    // The free port is only free when probed: another process may take it before the emulator
    // binds it, so a failed start is retried on a new port.
    for (let attempt = 1; attempt <= attempts; attempt++) {
        const port = await freePort();
        const child = spawn(emulatorBinary, ["start", `--host=${host}`, `--port=${port}`], {
            detached: true,
            stdio: ["ignore", "pipe", "pipe"],
        });
        let output = "";
        const collect = (d) => {
            output = (output + d).slice(-8000);
        };
        child.stdout.on("data", collect);
        child.stderr.on("data", collect);
        try {
            await waitReady(port, child, () => output, timeoutMs);
            // If the test process dies before `stop` (crash, timeout), take the emulator with it.
            const killOnExit = () => {
                try {
                    process.kill(-child.pid, "SIGKILL");
                } catch {
                    // already gone
                }
            };
            process.once("exit", killOnExit);
            return {
                host,
                port,
                stop: async () => {
                    await stop(child, port);
                    process.removeListener("exit", killOnExit);
                },
            };
        } catch (err) {
            await stop(child, port);
            lastError = new Error(`${err.message} (attempt ${attempt}/${attempts})\n${output}`);
        }
    }
    throw lastError;
}

async function stop(child, port) {
    // Only our own, still running emulator is asked to shut down over HTTP.
    if (child.exitCode === null && child.signalCode === null) {
        try {
            await fetch(`http://${host}:${port}/shutdown`, { method: "POST" });
        } catch {
            // already gone
        }
    }
    const pgid = child.pid;
    const deadline = Date.now() + 10_000;
    while (groupAlive(pgid) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
    }
    if (groupAlive(pgid)) {
        process.kill(-pgid, "SIGKILL");
        const killDeadline = Date.now() + 5_000;
        while (groupAlive(pgid) && Date.now() < killDeadline) {
            await new Promise((r) => setTimeout(r, 100));
        }
    }
    if (groupAlive(pgid)) {
        throw new Error(`Firestore emulator (process group ${pgid}) is still running after SIGKILL`);
    }
}
