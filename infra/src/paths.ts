import * as fs from "fs";
import * as path from "path";

/** The `infra/` directory, whether running from TypeScript sources or from `dist/`. */
export const infraDir: string = (() => {
    let dir = __dirname;
    for (;;) {
        const pkg = path.join(dir, "package.json");
        if (fs.existsSync(pkg) && JSON.parse(fs.readFileSync(pkg, "utf8")).name === "majestix-infra") {
            return dir;
        }
        const parent = path.dirname(dir);
        if (parent === dir) {
            throw new Error(`infra/package.json not found above ${__dirname}`);
        }
        dir = parent;
    }
})();

export function readInfraFile(...segments: string[]): string {
    return fs.readFileSync(path.join(infraDir, ...segments), "utf8");
}
