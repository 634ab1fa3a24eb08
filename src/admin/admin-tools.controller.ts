import { Body, Controller, HttpCode, Inject, Param, Post, UseGuards, UseInterceptors } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { normalizeUserId } from '../common/user-id.js';
import { CloudError } from '../common/cloud-error.js';
import {
  APP_REPOSITORY,
  USER_REPOSITORY,
  type AppRepository,
  type UserRepository,
} from '../persistence/persistence.types.js';
import { SessionRegistry } from '../session/session-registry.js';
import { ToolCallService } from '../tools/tool-call.service.js';
import { AdminGuard } from './admin.guard.js';
import { ToolCallDto, ToolCallView, UserAppToolParams } from './dto/tool.dto.js';
import { UnsafeKeysInterceptor } from './unsafe-keys.interceptor.js';

@ApiTags('admin: tools')
@ApiBearerAuth()
@UseGuards(AdminGuard)
@UseInterceptors(UnsafeKeysInterceptor)
@Controller('api/admin')
export class AdminToolsController {
  constructor(
    @Inject(APP_REPOSITORY) private readonly apps: AppRepository,
    @Inject(USER_REPOSITORY) private readonly users: UserRepository,
    private readonly registry: SessionRegistry,
    private readonly tools: ToolCallService,
  ) {}

  @Post('sessions/:userId/apps/:packageName/tools/:toolId')
  @HttpCode(200)
  @ApiOperation({
    summary: "Call one of an app's declared tools for a user, as Mira does: the app's /tool answers (SDK onToolCall)",
    description:
      'The app must declare the tool (app_config.json `tools`) and be installed for the user; the values are checked ' +
      "against the tool's parameters. 502 TOOL_CALL_FAILED when the app fails or does not answer in TOOL_CALL_TIMEOUT_MS.",
  })
  @ApiOkResponse({ type: ToolCallView })
  async call(@Param() params: UserAppToolParams, @Body() body: ToolCallDto): Promise<ToolCallView> {
    const userId = normalizeUserId(params.userId);
    const { packageName, toolId } = params;
    const app = await this.apps.findByPackageName(packageName);
    if (!app) throw new CloudError('APP_NOT_FOUND', `App ${packageName} does not exist`);
    const user = await this.users.findById(userId);
    if (!user) throw new CloudError('USER_NOT_FOUND', `User ${userId} does not exist`);
    if (!user.installedApps.some((a) => a.packageName === packageName))
      throw new CloudError('APP_NOT_FOUND', `${packageName} is not installed for ${userId}`);
    const tool = app.tools?.find((t) => t.id === toolId);
    if (!tool) throw new CloudError('TOOL_NOT_FOUND', `${packageName} declares no tool ${toolId}`);
    const values = body.toolParameters ?? {};
    const problems = this.tools.checkParameters(tool, values);
    if (problems.length > 0)
      throw new CloudError('MALFORMED_MESSAGE', `Bad parameters for ${toolId}: ${problems.join('; ')}`, { problems });
    const outcome = await this.tools.call(app, tool, userId, values);
    const appRunning = this.registry.get(userId)?.connections.isRunning(packageName) ?? false;
    return { ...outcome, appRunning };
  }
}
