// `npm run plan`: regenerates infra/plan/prod.txt from the program under mocks (offline).
import * as fs from "fs";
import * as path from "path";
import { currentPlan, planFile } from "../tooling/planFile";

currentPlan()
    .then((plan) => {
        fs.mkdirSync(path.dirname(planFile), { recursive: true });
        const previous = fs.existsSync(planFile) ? fs.readFileSync(planFile, "utf8") : "";
        fs.writeFileSync(planFile, plan);
        console.log(`${path.relative(process.cwd(), planFile)}: ${previous === plan ? "unchanged" : "updated"}`);
        // Pulumi's runtime keeps handles open after a mock run.
        process.exit(0);
    })
    .catch((err) => {
        console.error(err);
        process.exit(1);
    });
